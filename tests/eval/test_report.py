"""The report: a self-contained page whose curves Chromium really draws and whose checkboxes work."""

import html
import json
import re
import shutil
import subprocess

import pytest

from rlvr.eval.evaluate import EvalResult
from rlvr.eval.metrics import pass_at_k_curve
from rlvr.eval.report import BAND_OPACITY, COLORS, collect_curves, format_interval, write_report
from rlvr.eval.run import print_table, save_eval
from rlvr.tracking.jsonl import JsonlTracker
from rlvr.tracking.panels import PANELS


def _result(counts, n=16):
    """An evaluation in the format `evaluate` writes: per-problem rows, then intervals from them."""
    return EvalResult(
        n=n,
        num_problems=len(counts),
        pass_at_k=pass_at_k_curve(counts, n),
        greedy_accuracy=sum(c > n // 2 for c in counts) / len(counts),
        mean_distinct_correct=sum(min(c, 3) for c in counts) / len(counts),
        distinct_1=0.4,
        distinct_2=0.6,
        per_problem=[
            {"id": f"p{j}", "correct": c, "distinct_correct": min(c, 3), "greedy_correct": c > n // 2}
            for j, c in enumerate(counts)
        ],
    ).with_intervals(resamples=500)


def log_training(run_dir, steps: int = 20, *, divergence: bool, bank: bool, shift: float = 0.0) -> None:
    """metrics.jsonl as the trainer writes it (through JsonlTracker): the bank's sizes at step 0
    (DPH-RL only), then per step reward, entropy, length and, with a divergence, its value."""
    tracker = JsonlTracker(run_dir)
    if bank:
        tracker.log({"bank/pef_prompts": 47, "bank/exp_prompts": 209, "bank/pef_fraction": 0.18}, 0)
    for step in range(1, steps + 1):
        row = {
            "reward/mean": 0.1 + 0.01 * step + shift,
            "reward/accuracy": 0.1 + 0.01 * step + shift,
            "policy/entropy": 0.4 - 0.005 * step,
            "response/length_mean": 30.0 + step,
        }
        if divergence:
            row["divergence/value"] = 0.001 * step
        tracker.log(row, step)
    tracker.close()


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "grpo", tmp_path / "dph_js"
    base = [0, 1, 2, 8] * 5
    save_eval(a, 0, _result(base))
    save_eval(a, 20, _result([0, 9, 14, 16] * 5))  # GRPO: higher pass@1, same coverage
    save_eval(b, 0, _result(base))
    save_eval(b, 20, _result([2, 5, 9, 12] * 5))
    log_training(a, divergence=False, bank=False)  # plain GRPO: no divergence, no reference bank
    log_training(b, divergence=True, bank=True)
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
    # One band per line, and by default each run minus the base model, with its own band.
    assert page.count('class="band"') == 3 + 2 and page.count('class="diff"') == 2
    assert "grpo − base model" in page
    # Nothing fetched: one inline script (the run checkboxes), no address but SVG's namespace.
    assert page.count("<script") == 1 and "<script>" in page and " src=" not in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")
    # The over-training panels, one per shared panel definition, and a checkbox per line.
    assert page.count('class="panel"') == len(PANELS)
    assert page.count("data-toggle=") == 3
    assert "pass@16" in page and "dph_js" in page
    assert out.with_suffix(".png").stat().st_size > 5000


def test_markdown_holds_the_pages_tables_cell_for_cell(runs, tmp_path):
    md_path = tmp_path / "tables.md"
    page = write_report(runs, tmp_path / "report.html", markdown=md_path).read_text()
    md = md_path.read_text()
    assert md.startswith("### Pass@k at the last evaluation\n\n| run | seeds |")
    assert "### Paired differences" in md and "grpo − base model" in md
    assert "Samples" not in md  # responses stay in the page
    # Every table row of the page's Pass@k table is a Markdown row with the same cells.
    first = re.search(r"<table.*?</table>", page, re.S).group(0)
    for row in re.findall(r"<tr.*?</tr>", first, re.S)[1:]:
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        assert "| " + " | ".join(cells) + " |" in md


def test_missing_evaluations_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no evaluations"):
        collect_curves([tmp_path])


def _chromium(tmp_path, *args):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, (
        "Debian's chromium is needed for this test; `make test` installs it (apt-get install chromium)"
    )
    return subprocess.run(
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
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_chromium_draws_every_curve(runs, tmp_path):
    out = write_report(runs, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=800,700", f"--screenshot={shot}", out.as_uri())
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    pixels = set(img.getdata())
    for color in COLORS[:3]:
        rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
        near = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, rgb, strict=True)) < 30]
        assert near, f"curve color {color} not found in the rendered page"
        # Its band: the color at BAND_OPACITY over the white chart.
        band = tuple(round(255 * (1 - BAND_OPACITY) + c * BAND_OPACITY) for c in rgb)
        near = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, band, strict=True)) < 12]
        assert near, f"band of {color} (about {band}) not found in the rendered page"
    # The chart area is not blank: many distinct colors were drawn.
    assert len(pixels) > 50


# Run inside the report in Chromium: the page's own script has run; this clicks a checkbox.
_HARNESS = """<script>
const shown = run => [...document.querySelectorAll("[data-run]")]
  .filter(el => el.dataset.run === run && el.getBoundingClientRect().width > 0).length;
const traces = run => [...document.querySelectorAll("svg.panel g.trace")]
  .filter(g => g.dataset.run === run && g.getBoundingClientRect().width > 0).length;
const box = [...document.querySelectorAll("input[data-toggle]")].find(b => b.dataset.toggle === "grpo");
const out = {errors: window.__errors, panels: [...document.querySelectorAll("svg.panel")].map(s => s.dataset.panel)};
out.before = {grpo: shown("grpo"), grpo_traces: traces("grpo"), dph: shown("dph_js"), dph_traces: traces("dph_js")};
box.click();
out.hidden = {grpo: shown("grpo"), dph: shown("dph_js")};
box.click();
out.again = {grpo: shown("grpo")};
const pre = document.createElement("pre");
pre.id = "harness";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def test_chromium_runs_the_page_and_its_checkboxes(runs, tmp_path):
    """The page loads without script errors, draws every panel, and unticking a run hides all
    its lines (final curves, differences, every panel) and nothing of the other run's."""
    page = write_report(runs, tmp_path / "report.html").read_text()
    catch = "<script>window.__errors=[];addEventListener('error',e=>__errors.push(e.message));</script>"
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + catch, 1).replace("</body>", _HARNESS + "</body>"))
    dom = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="harness">(.*?)</pre>', dom, re.S)
    assert found, f"the harness did not run; the page's DOM ends: {dom[-500:]}"
    out = json.loads(html.unescape(found.group(1)))
    assert out["errors"] == []
    assert out["panels"] == ["Pass@1 (eval)", "Pass@16 (eval)", *[p.title for p in PANELS[2:]]]
    # grpo: reward, entropy, length (2 keys of reward), pass@1, pass@16; no divergence, no bank.
    assert out["before"]["grpo_traces"] == 2 + 2 + 1 + 1
    assert out["before"]["dph_traces"] == 2 + 2 + 1 + 1 + 1 + 1
    assert out["before"]["grpo"] > out["before"]["grpo_traces"]  # its final curve, band, difference too
    assert out["hidden"] == {"grpo": 0, "dph": out["before"]["dph"]}
    assert out["again"] == {"grpo": out["before"]["grpo"]}


def test_eval_json_round_trip(tmp_path):
    path = save_eval(tmp_path, 3, _result([1, 2]))
    data = json.loads(path.read_text())
    assert path.name == "step_000003.json" and data["n"] == 16
    # The old keys, plus an interval for every k and for greedy and distinct correct.
    assert set(data["pass_at_k"]) == set(data["pass_at_k_ci"]) == {str(k) for k in range(1, 17)}
    for k, (lo, hi) in data["pass_at_k_ci"].items():
        assert lo <= data["pass_at_k"][k] <= hi
    assert data["greedy_accuracy_ci"] == [0.0, 0.0] and len(data["distinct_correct_ci"]) == 2
    assert data["bootstrap"] == {"over": "problems", "resamples": 500, "level": 0.95, "seed": 0}
    assert [r["greedy_correct"] for r in data["per_problem"]] == [False, False]


def test_printed_table_shows_intervals(capsys):
    result = _result([0, 3, 9, 16] * 10)
    print_table({"base": result})
    printed = capsys.readouterr().out
    lo, hi = result.pass_at_k_ci[1]
    assert f"{result.pass_at_k[1]:.3f} [{lo:.2f}, {hi:.2f}]" in printed
    assert "pass@16" in printed and "95% bootstrap interval over problems" in printed
    assert max(len(line) for line in printed.splitlines()) <= 80  # `make train` prints at 80 columns


def test_interval_format():
    assert format_interval(0.1984, (0.151, 0.2549)) == "0.198 [0.15, 0.25]"
    assert format_interval(0.031, (-0.012, 0.07), signed=True) == "+0.031 [-0.01, +0.07]"
    assert format_interval(None) == "-" and format_interval(1.5, None, digits=2) == "1.50"
