"""`rlvr plan`: per-device memory of a composed config, before launch.

shapes.py  the model's shape and parameter count from its HF config (no weights loaded)
memory.py  the estimate: learner rank (weights, gradients, optimizer states, activations, logits)
           and rollout worker (weights, KV cache), with the warnings
"""

from rlvr.plan.memory import LearnerMemory, RolloutMemory, learner_memory, rollout_memory
from rlvr.plan.shapes import ModelShape

__all__ = ["LearnerMemory", "ModelShape", "RolloutMemory", "learner_memory", "rollout_memory"]
