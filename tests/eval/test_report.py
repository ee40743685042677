"""The Pass@k report: a self-contained page whose curves Chromium really draws."""

import json
import shutil
import subprocess

import pytest

from rlvr.eval.evaluate import EvalResult
from rlvr.eval.metrics import pass_at_k_curve
from rlvr.eval.report import COLORS, collect_curves, write_report
from rlvr.eval.run import save_eval


def _result(counts, n=16):
    return EvalResult(
        n=n,
        num_problems=len(counts),
        pass_at_k=pass_at_k_curve(counts, n),
        greedy_accuracy=0.25,
        mean_distinct_correct=1.5,
        distinct_1=0.4,
        distinct_2=0.6,
    )


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "grpo", tmp_path / "dph_js"
    save_eval(a, 0, _result([0, 1, 2, 8]))
    save_eval(a, 20, _result([0, 9, 14, 16]))  # GRPO: higher pass@1, same coverage
    save_eval(b, 0, _result([0, 1, 2, 8]))
    save_eval(b, 20, _result([2, 5, 9, 12]))
    return [a, b]


def test_curves_are_base_then_last_eval_of_each_run(runs):
    curves = collect_curves(runs)
    assert [c.label for c in curves] == ["base model", "grpo", "dph_js"]
    assert [c.step for c in curves] == [0, 20, 20]
    assert curves[1].pass_at_k[1] == pytest.approx((0 + 9 + 14 + 16) / 64)


def test_report_is_self_contained_with_table_and_png(runs, tmp_path):
    out = write_report(runs, tmp_path / "r" / "report.html")
    page = out.read_text()
    assert page.count('class="curve"') == 3
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "pass@16" in page and "dph_js" in page
    assert out.with_suffix(".png").stat().st_size > 5000


def test_missing_evaluations_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no evaluations"):
        collect_curves([tmp_path])


def test_chromium_draws_every_curve(runs, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, (
        "Debian's chromium is needed for this test; `make test` installs it (apt-get install chromium)"
    )
    out = write_report(runs, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=800,700",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    pixels = set(img.getdata())
    for color in COLORS[:3]:
        rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
        near = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, rgb, strict=True)) < 30]
        assert near, f"curve color {color} not found in the rendered page"
    # The chart area is not blank: many distinct colors were drawn.
    assert len(pixels) > 50


def test_eval_json_round_trip(tmp_path):
    path = save_eval(tmp_path, 3, _result([1, 2]))
    data = json.loads(path.read_text())
    assert path.name == "step_000003.json" and data["n"] == 16
