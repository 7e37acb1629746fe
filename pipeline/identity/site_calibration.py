"""Per-site refinement of the matching thresholds from the unlabeled pairs a running site gives for free.

Negatives: a tracklet and the latest tracklet of every track that was in view *in the same camera at the same
time* (two boxes of one frame are two people). Positives: a tracklet and the previous tracklet of its own track
(``within``). Both go into bounded ring buffers; every ``refit_every`` new pairs the rule of
``calibration.fit_threshold`` is applied to the site's pairs and the result is clipped to a band around the prior:

- prior from the artifact's calibration (fitted on a labelled validation site): ``prior * (1 +- band)``;
- no artifact calibration, prior = the conservative fallback: ``prior * (1 +- 2 * band)`` (the site rule is then
  the best information there is, but one odd site still cannot make it link everything);
- a threshold set in the config is never refined;
- an offline threshold from the artifact is refined only with ``refine_offline`` (off by default; the fallback
  one always is, as there is nothing better): on the validation sites the
  same-camera negatives moved it to the edge of its band, up on one site and down on the next, and the
  artifact's value gave a higher offline IDF1 on every site where they differed (pipeline/identity/README.md).
  What the site would set is still computed and recorded (``site_offline_threshold``) for the report.

Memory: the last embedding of at most ``max_tracks`` tracks and ``max_pairs`` distances per kind.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from streid.pipeline.identity.calibration import (
    GATE_ALPHA,
    MIN_PAIRS,
    OFFLINE_ALPHA,
    Thresholds,
    fit_threshold,
    quantile_table,
)
from streid.pipeline.identity.records import TrackletObs, normalise

log = logging.getLogger(__name__)
Key = tuple[str, int]


def refines_offline(source: str, asked: bool) -> bool:
    """Whether the site refits an offline threshold that came from ``source`` (``calibration.refine_offline``:
    ``asked``): never a config value, an artifact's only when asked, the fallback always."""
    return source != "config" and (asked or source != "artifact")


class SiteCalibrator:
    """``seen`` per frame, ``add`` per tracklet batch; ``current`` = the thresholds in force now."""

    def __init__(self, prior: Thresholds, band: float = 0.25, refit_every: int = 200, max_pairs: int = 4000,
                 max_tracks: int = 512, refine_offline: bool = False) -> None:
        self.prior, self.current = prior, Thresholds(**vars(prior))
        self.refine_offline = refine_offline
        self.band, self.refit_every, self.max_tracks = band, refit_every, max_tracks
        self.neg: deque[float] = deque(maxlen=max_pairs)
        self.pos: deque[float] = deque(maxlen=max_pairs)
        self.last: OrderedDict[Key, np.ndarray] = OrderedDict()  # latest embedding per track (LRU)
        self.together: OrderedDict[Key, set[Key]] = OrderedDict()  # tracks seen in the same frame (same camera)
        self.new_pairs = 0
        self.history: list[dict[str, Any]] = []

    def seen(self, keys: Iterable[Key]) -> None:
        """The tracks of one camera in one frame: every pair of them is a pair of different people."""
        keys = list(keys)
        if len(keys) < 2:
            return
        for k in keys:
            self.together.setdefault(k, set()).update(o for o in keys if o != k)
            self.together.move_to_end(k)
        while len(self.together) > self.max_tracks:
            self.together.popitem(last=False)

    def add(self, obs: list[TrackletObs]) -> bool:
        """Pairs of these tracklets with earlier ones; True when the thresholds were refitted."""
        for t in obs:
            q = normalise(t.embedding)
            prev = self.last.get(t.key)
            if prev is not None:
                self.pos.append(float(1.0 - q @ prev))
            for other in self.together.get(t.key, ()):
                e = self.last.get(other)
                if e is not None:
                    self.neg.append(float(1.0 - q @ e))
                    self.new_pairs += 1
            self.last[t.key] = q
            self.last.move_to_end(t.key)
            while len(self.last) > self.max_tracks:
                self.last.popitem(last=False)
        if self.new_pairs < self.refit_every or len(self.neg) < MIN_PAIRS:
            return False
        self.new_pairs = 0
        self.refit()
        return True

    def refit(self) -> Thresholds:
        neg, pos = np.fromiter(self.neg, np.float64), np.fromiter(self.pos, np.float64)
        cur, p = self.current, self.prior
        if p.gate_source != "config":
            cur.gate = self._bounded(fit_threshold(neg, pos, GATE_ALPHA), p.gate, p.gate_source)
            cur.gate_source = f"site (prior {p.gate_source} {p.gate:.3f})"
        site_offline = self._bounded(fit_threshold(neg, pos, OFFLINE_ALPHA), p.offline_threshold, p.offline_source)
        if refines_offline(p.offline_source, self.refine_offline):
            cur.offline_threshold = site_offline
            cur.offline_source = f"site (prior {p.offline_source} {p.offline_threshold:.3f})"
        rec = {**cur.record(), "site_offline_threshold": site_offline, "n_neg": len(neg), "n_pos": len(pos),
               "quantiles": {"neg": quantile_table(neg), "pos": quantile_table(pos)}}
        self.history.append(rec)
        log.info("identity thresholds refitted on this site: gate %.3f (%s), offline_threshold %.3f (%s%s); "
                 "%d negative / %d same-track pairs, negative q05 %.3f", cur.gate, cur.gate_source,
                 cur.offline_threshold, cur.offline_source,
                 "" if cur.offline_threshold == site_offline else f"; the site alone would set {site_offline:.3f}",
                 len(neg), len(pos), float(np.quantile(neg, 0.05)))
        return cur

    def _bounded(self, fitted: float, prior: float, source: str) -> float:
        band = self.band if source == "artifact" else 2 * self.band
        return round(float(np.clip(fitted, prior * (1 - band), prior * (1 + band))), 4)
