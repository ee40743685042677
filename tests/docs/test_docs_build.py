"""The documentation site builds with `mkdocs build --strict`: a broken link, a missing page, a
snippet include whose file is gone, or an API page whose module cannot be found fails here."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_MODULES = [
    "rlvr.objectives.divergences",
    "rlvr.objectives.advantages",
    "rlvr.objectives.aggregation",
    "rlvr.objectives.policy_loss",
    "rlvr.algorithms",
    "rlvr.bank",
    "rlvr.learner.learner",
    "rlvr.rollout",
    "rlvr.eval.metrics",
    "rlvr.eval.stats",
    "verifiers.base",
    "verifiers.registry",
    "verifiers.result",
]

pytest.importorskip("mkdocs", reason="the `docs` extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    # mkdocs.yml resolves its paths (docs/, the snippet base, mkdocstrings paths) against its own folder.
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_every_api_module_has_a_rendered_page(site: Path):
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("index.html"))
    missing = [m for m in API_MODULES if f'id="{m}"' not in html]
    assert not missing, f"API modules without a rendered page (add `::: module` to docs/api/): {missing}"


def test_pages_are_built_and_snippets_included(site: Path):
    for page in ["concepts", "objectives", "verifiers", "recipes", "clusters", "evaluation"]:
        assert (site / page / "index.html").is_file(), page
    # The included files' own first headings prove the snippet include read them.
    assert "Benchmarks" in (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "Results" in (site / "results" / "index.html").read_text(encoding="utf-8")
    assert "--8&lt;--" not in (site / "results" / "index.html").read_text(encoding="utf-8")


def test_site_loads_nothing_from_the_network(site: Path):
    # font: false in mkdocs.yml: Material would otherwise link Google Fonts in every page.
    for page in [site / "index.html", site / "api" / "objectives" / "index.html"]:
        html = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in html
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), (
            f"{page} loads a remote asset"
        )


def test_the_verifier_page_example_runs():
    """The plugin example on docs/verifiers.md is real code: it judges as the page says."""
    page = (ROOT / "docs" / "verifiers.md").read_text(encoding="utf-8")
    code = page.split("```python\n# choice_verifier/__init__.py\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/verifiers.md", "exec"), namespace)

    from verifiers import Reason, register_verifier, verifier_class

    register_verifier("docs_choice", namespace["ChoiceVerifier"], overwrite=True)
    verifier = verifier_class("docs_choice")(letters="ABC")
    try:
        assert verifier.verify("The answer is (B)", "B").correct
        assert verifier.verify("Answer: D", "B").reason == Reason.UNPARSEABLE
        assert verifier.verify("Answer: A", "B").reason == Reason.WRONG
    finally:
        verifier.close()
