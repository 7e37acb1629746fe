"""Identity classifier that learns from the first steps: features standardised over the batch, then linear.

Why: the features a re-id model hands its classifier share a large component common to every clip (a
transformer's LayerNorm-ed class token, a LeakyReLU output with a positive mean). The gradient of a linear
softmax head is sum_i (p_i - y_i) x_i^T, so that common component dominates it: Adam (about lr * sign(g)
per weight) then moves each class's logit up or down for every clip alike, by whether the class is in the
batch, and the part of x that tells identities apart barely moves the weights. The cross-entropy then sits
at ln C while the triplet, which sees only differences, falls. Centring and scaling each feature over the
batch (the BN of BNNeck, Luo et al. 2019) removes the common component, so the gradient is the
identity-separating part alone.

The standardisation has no parameters and no running statistics: logits exist only in train mode (eval
returns the embedding), so nothing is needed at inference and the state_dict keeps the plain
``weight``/``bias`` of ``nn.Linear`` (checkpoints of before load unchanged, heads stay out of export).
"""

from __future__ import annotations

from torch import Tensor, nn

EPS = 1e-5
"""As nn.BatchNorm1d: keeps a feature that is constant over the batch at 0 rather than dividing by 0."""


def batch_standardise(x: Tensor) -> Tensor:
    """(N, D) -> each feature at mean 0, variance 1 over the N rows (batch statistics, as BN in train mode)."""
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) * (var + EPS).rsqrt()


class IdentityHead(nn.Linear):
    """``nn.Linear(dim, num_classes)`` on batch-standardised input (any leading dims: (..., dim)).

    Weights start small (normal, std 0.001, zero bias) as in re-id practice: initial logits near 0, loss ln C.
    """

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__(dim, num_classes)
        nn.init.normal_(self.weight, std=0.001)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(-1, x.shape[-1])
        return super().forward(batch_standardise(flat)).reshape(*x.shape[:-1], self.out_features)
