"""The learner side of the training engine: chunked per-token log-probs, a DeepSpeed learner rank,
and a data-parallel group of ranks over Ray. Knows nothing about algorithms: a step takes named
token batches and a loss function from the trainer."""

from rlvr.learner.group import LearnerGroup, LearnerWorker
from rlvr.learner.learner import Learner, LossFn
from rlvr.learner.logprobs import LogProbModel, LogProbOutput, naive_token_logprobs, token_logprobs
from rlvr.learner.options import LearnerOptions, deepspeed_config
from rlvr.learner.schedule import WarmupSchedule

__all__ = [
    "Learner",
    "LearnerGroup",
    "LearnerOptions",
    "LearnerWorker",
    "LogProbModel",
    "LogProbOutput",
    "LossFn",
    "WarmupSchedule",
    "deepspeed_config",
    "naive_token_logprobs",
    "token_logprobs",
]
