"""TensorBoard's custom scalar layout and the wandb workspace spec, read back from what the
trackers wrote (the event file; an offline wandb run's record file), against the shared panels."""

import json
import re
import struct

import pytest

from rlvr.tracking import make_tracker
from rlvr.tracking.panels import PANELS, panel_keys

# What the trainer logs at step 0 and at a step of a DPH-RL run with eval.n = 16 (metrics.jsonl).
LOGGED = [
    "bank/pef_prompts",
    "bank/exp_prompts",
    *[f"eval/pass@{k}{s}" for k in (1, 2, 4, 8, 16) for s in ("", "_ci_low", "_ci_high")],
    "reward/mean",
    "reward/accuracy",
    "reward/std",
    "policy/entropy",
    "policy/approx_kl",
    "divergence/value",
    "divergence/log_ratio_mean",
    "response/length_mean",
    "response/length_max",
]
TITLES = ["Pass@1 (eval)", "Pass@16 (eval)", *[p.title for p in PANELS[2:]]]


def _read_layout(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    (config,) = events.Tensors(metadata.CONFIG_SUMMARY_TAG)
    layout = layout_pb2.Layout()
    layout.ParseFromString(tensor_util.make_ndarray(config.tensor_proto).item())
    return layout, events


def test_tensorboard_layout_groups_the_panels(tmp_path):
    tracker = make_tracker(["tensorboard"], tmp_path, eval_n=16)
    tracker.log({key: 0.5 for key in LOGGED}, 0)
    tracker.close()
    layout, events = _read_layout(tmp_path / "tensorboard")
    (category,) = layout.category
    assert [c.title for c in category.chart] == TITLES
    charts = {c.title: c for c in category.chart}
    (series,) = charts["Pass@16 (eval)"].margin.series
    assert (series.value, series.lower, series.upper) == (
        "eval/pass@16",
        "eval/pass@16_ci_low",
        "eval/pass@16_ci_high",
    )
    # Every multiline regex picks exactly its panel's keys out of what a run logs.
    scalars = events.Tags()["scalars"]
    for panel in PANELS[2:]:
        tags = charts[panel.title].multiline.tag
        assert [t for t in scalars if any(re.search(r, t) for r in tags)] == list(panel.keys), panel.title


def test_tensorboard_without_eval_n_leaves_pass_at_n_out(tmp_path):
    make_tracker(["tensorboard"], tmp_path).close()
    layout, _ = _read_layout(tmp_path / "tensorboard")
    assert [c.title for c in layout.category[0].chart] == [TITLES[0], *TITLES[2:]]


def _wandb_records(run_dir):
    """The records of an offline run's .wandb file: W&B's log format (a 7-byte header, then
    32 KiB blocks of chunks: crc32, length, type 1 full / 2 first / 3 middle / 4 last)."""
    from wandb.proto import wandb_internal_pb2

    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    data, pos, chunk, out = path.read_bytes(), 7, b"", []
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # the block's tail is padding
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0:
            break
        chunk += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunk)
            out.append(record)
            chunk = b""
    return out


def test_wandb_offline_run_carries_the_panels(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    tracker = make_tracker(["wandb"], tmp_path, run_name="dph_js", wandb_mode="offline", eval_n=16)
    tracker.log({key: 0.5 for key in LOGGED}, 0)
    tracker.close()
    import wandb

    wandb.teardown()  # finish() can return before wandb's service has written the record file

    spec = json.loads((tmp_path / "wandb_workspace.json").read_text())
    (section,) = spec["sections"]
    assert [p["title"] for p in section["panels"]] == TITLES
    panels = {p["title"]: p for p in section["panels"]}
    assert panels["Pass@16 (eval)"] == {
        "type": "LinePlot",
        "title": "Pass@16 (eval)",
        "x": "Step",
        "y": ["eval/pass@16", "eval/pass@16_ci_low", "eval/pass@16_ci_high"],
        "range_y": [0.0, 1.0],
    }
    assert panels["D_pef / D_exp prompts"]["metrics"] == ["bank/pef_prompts", "bank/exp_prompts"]

    records = _wandb_records(tmp_path)
    defined = {r.metric.name: r.metric for r in records if r.WhichOneof("record_type") == "metric"}
    keys = {k for p in PANELS for k in panel_keys(p.resolve(16))}
    assert keys <= set(defined)
    assert defined["eval/pass@16"].summary.max and defined["eval/pass@16"].summary.last
    assert not defined["policy/entropy"].summary.max
    saved = [f.path for r in records if r.WhichOneof("record_type") == "files" for f in r.files.files]
    assert "wandb_workspace.json" in saved  # uploaded with the run by `wandb sync`


@pytest.mark.parametrize("eval_n", [16, 32])
def test_report_tensorboard_and_wandb_show_the_same_panels(tmp_path, eval_n):
    from rlvr.tracking.tensorboard import custom_scalar_layout
    from rlvr.tracking.wandb import workspace_spec

    tb = list(next(iter(custom_scalar_layout(eval_n).values())))
    wb = [p["title"] for p in workspace_spec("rlvr", eval_n)["sections"][0]["panels"]]
    html = [p.resolve(eval_n).title for p in PANELS]
    assert tb == wb == html and f"Pass@{eval_n} (eval)" in html
