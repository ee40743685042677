"""The plugin's own unit test (runs wherever the plugin is importable)."""

from choice_verifier import ChoiceVerifier

from verifiers import Reason


def test_choice_verifier_judges_letters():
    v = ChoiceVerifier(letters="ABC", score_format=0.1)
    assert v.verify("I think the answer is (B).", "b").correct
    assert v.verify("Answer: C", "B").reason is Reason.WRONG
    assert v.verify("Answer: D", "D").reason is Reason.UNPARSEABLE
    assert v.verify("no idea", "A").score == 0.0
    assert v.verify("Answer: A", "A").score == 1.1
