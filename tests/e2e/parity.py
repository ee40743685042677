"""`parity`: a verifier for runs of an untrained model (see conftest.py), registered in-process.

Reference "any": always correct. "even"/"odd": correct when the response's word count has that parity.
"""

from verifiers import register_verifier
from verifiers.base import Verifier
from verifiers.result import Judgement, Reason


class ParityVerifier(Verifier):
    name = "parity"

    def judge(self, response, reference, metadata):
        if reference == "any":
            return Judgement(Reason.OK)
        even = len(response.split()) % 2 == 0
        return Judgement(Reason.OK if even == (reference == "even") else Reason.WRONG)


def register() -> None:
    register_verifier("parity", ParityVerifier, overwrite=True)
