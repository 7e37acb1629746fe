"""Matching thresholds fitted from distance distributions, per embedder, instead of one constant for every model.

Pure functions on arrays (no I/O): :func:`fit_calibration` turns cosine distances of *negative* pairs (different
people) and *positive* pairs (one person) into the online matcher's ``gate`` and the offline clustering's
``offline_threshold``; :func:`resolve_thresholds` applies the precedence config > artifact > fallback.

Where the pairs come from (any site gives the unlabeled kinds for free):
- negatives: two tracks visible at the same time in the same camera are different people; with labels (a MARS-layout
  split, a synthetic world's ground truth) every different-person pair;
- positives: ``within``: two tracklets of one track (same person, same camera, moments apart); ``cross``: one
  person in two cameras (labels only). Cross-camera pairs are much farther apart than within-track ones (other
  viewpoint, light, camera), so ``within`` positives only bound the gate from below, never set it.

The rule (see :func:`fit_threshold`), for a threshold ``t`` that says "same person" when ``d <= t``:
1. ``t = Q_neg(alpha)``: at most a fraction ``alpha`` of different-person pairs pass. Precision first: a wrong link
   merges two people for the rest of the run and every later tracklet of either, while a missed link costs one
   fragment. Same-camera negatives are closer than cross-camera ones (no camera change between them), so this is
   conservative for the cross-camera pairs the matcher decides.
2. With ``cross`` positives, if ``Q_pos(beta) < t`` the two populations are separated at these rates: ``t`` moves to
   the middle of the gap, the largest margin on both sides (fewer merges when the site differs from the data).
3. With ``within`` positives, ``t`` is raised to their median when that is above it (a threshold below the typical
   same-track distance would split even one person's own track), but never above ``Q_neg(2 * alpha)``.
The gate uses ``alpha = GATE_ALPHA``; the offline threshold compares *average* distances between whole clusters
(average linkage), whose spread is smaller than a single pair's, so it takes a larger ``OFFLINE_ALPHA``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

CALIBRATION_VERSION = 1
GATE_ALPHA = 0.05  # share of different-person pairs a gate may pass (chosen on a validation site, see README)
OFFLINE_ALPHA = 0.10  # same for the average-linkage stop distance
CROSS_BETA = 0.90  # share of true cross-camera pairs that should pass when the populations separate
FALLBACK_GATE = 0.20  # no config value, no artifact calibration, no site data yet: link only very close pairs
FALLBACK_OFFLINE = 0.20
MIN_PAIRS = 20  # fewer negatives than this: no fit (a quantile of a handful of pairs is noise)
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
PositiveKind = Literal["within", "cross"]


@dataclass
class Calibration:
    """Fitted thresholds and what they were fitted on (the ``calibration`` entry of an artifact's metadata)."""

    gate: float
    offline_threshold: float
    n_pos: int
    n_neg: int
    quantiles: dict[str, dict[str, float]] = field(default_factory=dict)  # {"neg"|"pos": {"q05": d, ...}}
    source: str = ""
    positives: str = "within"  # which positives bounded the fit: within | cross
    version: int = CALIBRATION_VERSION

    def entry(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_entry(cls, entry: Any, where: str = "calibration") -> Calibration:
        """Validate a stored entry; raises ValueError naming ``where`` and the bad field."""
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping, got {type(entry).__name__}")
        if entry.get("version") != CALIBRATION_VERSION:
            raise ValueError(f"{where}: version {entry.get('version')!r} (this STREID reads {CALIBRATION_VERSION})")
        for key in ("gate", "offline_threshold"):
            v = entry.get(key)
            if not isinstance(v, (int, float)) or not 0.0 < v <= 2.0:
                raise ValueError(f"{where}: {key} must be a cosine distance in (0, 2], got {v!r}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in entry.items() if k in known})

    def line(self) -> str:
        return (f"gate {self.gate:.3f}, offline_threshold {self.offline_threshold:.3f} "
                f"({self.n_neg} negative / {self.n_pos} {self.positives} positive pairs, {self.source})")


def quantile_table(d: np.ndarray) -> dict[str, float]:
    """``{"q05": ..., ...}`` of a distance sample (empty for an empty one)."""
    d = np.asarray(d, np.float64)
    if d.size == 0:
        return {}
    return {f"q{round(100 * q):02d}": round(float(np.quantile(d, q)), 4) for q in QUANTILES}


def fit_threshold(neg: np.ndarray, pos: np.ndarray | None, alpha: float, kind: PositiveKind = "within",
                  beta: float = CROSS_BETA) -> float:
    """One threshold by the rule of the module docstring; ``neg`` must hold at least ``MIN_PAIRS`` distances."""
    neg = np.asarray(neg, np.float64)
    if neg.size < MIN_PAIRS:
        raise ValueError(f"{neg.size} negative pairs: need at least {MIN_PAIRS} to fit a threshold")
    t = float(np.quantile(neg, alpha))
    pos = np.asarray(pos if pos is not None else [], np.float64)
    if pos.size >= MIN_PAIRS // 2:
        if kind == "cross":
            p = float(np.quantile(pos, beta))
            if p < t:
                t = 0.5 * (p + t)
        else:
            t = max(t, min(float(np.median(pos)), float(np.quantile(neg, min(1.0, 2 * alpha)))))
    return float(np.clip(t, 1e-3, 2.0))


def fit_calibration(neg: np.ndarray, pos: np.ndarray | None = None, kind: PositiveKind = "within",
                    source: str = "", gate_alpha: float = GATE_ALPHA,
                    offline_alpha: float = OFFLINE_ALPHA) -> Calibration:
    """Gate and offline threshold from negative/positive distances (cosine, 0..2)."""
    neg = np.asarray(neg, np.float64).ravel()
    pos = np.asarray(pos if pos is not None else [], np.float64).ravel()
    return Calibration(
        gate=round(fit_threshold(neg, pos, gate_alpha, kind), 4),
        offline_threshold=round(fit_threshold(neg, pos, offline_alpha, kind), 4),
        n_pos=int(pos.size), n_neg=int(neg.size),
        quantiles={"neg": quantile_table(neg), "pos": quantile_table(pos)},
        source=source, positives=kind,
    )


def pair_distances(emb: np.ndarray, labels: np.ndarray, cams: np.ndarray | None = None,
                   max_pairs: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labelled embeddings -> (negative distances: different labels; positive: same label, other camera when
    ``cams`` is given). At most ``max_pairs`` of each, drawn at random (fixed seed) from the upper triangle."""
    emb = np.asarray(emb, np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels)
    i, j = np.triu_indices(len(emb), k=1)
    same = labels[i] == labels[j]
    pos_mask = same if cams is None else same & (np.asarray(cams)[i] != np.asarray(cams)[j])
    rng = np.random.default_rng(seed)
    out = []
    for mask in (~same, pos_mask):
        a, b = i[mask], j[mask]
        if len(a) > max_pairs:
            pick = rng.choice(len(a), max_pairs, replace=False)
            a, b = a[pick], b[pick]
        out.append(1.0 - np.einsum("nd,nd->n", emb[a], emb[b]).astype(np.float64))
    return out[0], out[1]


@dataclass
class Thresholds:
    """The thresholds a run starts with and where each came from (``config`` values are never refined)."""

    gate: float
    offline_threshold: float
    gate_source: str  # config | artifact | fallback
    offline_source: str

    def record(self) -> dict[str, Any]:
        return {"gate": round(self.gate, 4), "offline_threshold": round(self.offline_threshold, 4),
                "gate_source": self.gate_source, "offline_source": self.offline_source}


def artifact_calibration(meta: dict[str, Any] | None, where: str = "embedder") -> Calibration | None:
    """The artifact's ``calibration`` entry, or None (absent; an unreadable one raises naming ``where``)."""
    if not meta or meta.get("calibration") is None:
        return None
    return Calibration.from_entry(meta["calibration"], f"{where}: streid.calibration")


def resolve_thresholds(gate: float | None, offline_threshold: float | None,
                       calibration: Calibration | None) -> Thresholds:
    """Config value > artifact calibration > conservative fallback, per threshold (the site refinement starts
    from what this returns, see ``site_calibration``)."""
    def pick(value: float | None, fitted: float | None, fallback: float) -> tuple[float, str]:
        if value is not None:
            return float(value), "config"
        if fitted is not None:
            return float(fitted), "artifact"
        return fallback, "fallback"

    g, gs = pick(gate, calibration.gate if calibration else None, FALLBACK_GATE)
    o, os_ = pick(offline_threshold, calibration.offline_threshold if calibration else None, FALLBACK_OFFLINE)
    return Thresholds(g, o, gs, os_)
