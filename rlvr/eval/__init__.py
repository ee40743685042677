"""Evaluation: unbiased Pass@k curves, greedy accuracy and diversity of a model's samples, with
bootstrap intervals over problems.

metrics.py  Pass@k and diversity of one problem's samples    stats.py    bootstrap intervals (numpy)
evaluate.py sample, verify, summarize (EvalResult)           problems.py per-problem rows as arrays
run.py      `rlvr eval` and the printed table                runs.py     run dirs, seed groups, pairing
report.py   `rlvr report`: HTML and PNG
"""

from rlvr.eval.metrics import distinct_n, pass_at_k, pass_at_k_curve
from rlvr.eval.stats import bootstrap_ci, paired_difference_ci

__all__ = ["bootstrap_ci", "distinct_n", "paired_difference_ci", "pass_at_k", "pass_at_k_curve"]
