"""Re-id evaluation: pure metric functions and the MARS query/gallery protocols."""

from streid.train.eval.metrics import evaluate_rank
from streid.train.eval.protocol import PROTOCOLS, protocol_indices

__all__ = ["PROTOCOLS", "evaluate_rank", "protocol_indices"]
