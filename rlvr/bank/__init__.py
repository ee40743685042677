"""The reference bank: samples of the initial policy pi_0 with their pi_0 log-probs, on disk."""

from rlvr.bank.sampler import BankSampler
from rlvr.bank.store import BankMismatchError, BankSample, BankWriter, ReferenceBank, model_fingerprint

__all__ = [
    "BankMismatchError",
    "BankSample",
    "BankSampler",
    "BankWriter",
    "ReferenceBank",
    "model_fingerprint",
]
