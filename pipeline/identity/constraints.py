"""Site rules that say whether two tracklets may belong to one person.

Rules (``SiteConfig``):
- two tracklets that overlap in time are never one person, unless they are in two cameras listed as
  overlapping (the same camera counts as non-overlapping: one person is one local track at a time);
- re-entry in the same camera after a gap is allowed, unless the site says people pass each camera once
  (``max_pass_s``): then two tracks in one camera that together span longer than one pass can take are two people
  (a track broken by an occlusion still fits in one pass; a second visit by a look-alike does not);
- a transition between two cameras with a transit window faster than ``min_s`` is forbidden (hard);
  slower than ``max_s`` is *penalised* (``transit_penalty`` added to the distance), not forbidden, because a
  person may linger or pass through a camera we do not see; the max is only judged between consecutive
  appearances.
Without a site config: no overlapping cameras, no transit limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streid.pipeline.identity.config import SiteConfig


@dataclass
class Constraints:
    """Pairwise compatibility of (camera, t_start, t_end) spans."""

    overlaps: set[frozenset[str]] = field(default_factory=set)
    windows: dict[frozenset[str], tuple[float, float | None]] = field(default_factory=dict)
    tolerance_s: float = 0.0
    transit_penalty: float = 0.5
    max_pass_s: float | None = None

    @classmethod
    def from_site(cls, site: SiteConfig | None, tolerance_s: float = 0.0, transit_penalty: float = 0.5) -> Constraints:
        if site is None:
            return cls(tolerance_s=tolerance_s, transit_penalty=transit_penalty)
        return cls(
            overlaps={frozenset(p) for p in site.overlaps if p[0] != p[1]},
            windows={frozenset((w.a, w.b)): (w.min_s, w.max_s) for w in site.transit},
            tolerance_s=tolerance_s, transit_penalty=transit_penalty, max_pass_s=site.max_pass_s,
        )

    def gap(self, a: tuple[str, float, float], b: tuple[str, float, float]) -> float:
        """Seconds between the end of the earlier span and the start of the later one (negative = overlap)."""
        return max(a[1], b[1]) - min(a[2], b[2])

    def compatible(self, a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
        """Hard rules only: not at once in non-overlapping cameras, no transit faster than its minimum, one pass
        per camera where the site says so."""
        g = self.gap(a, b)
        if g < -self.tolerance_s:
            return a[0] != b[0] and frozenset((a[0], b[0])) in self.overlaps
        if a[0] == b[0]:
            return self.max_pass_s is None or max(a[2], b[2]) - min(a[1], b[1]) <= self.max_pass_s
        window = self.windows.get(frozenset((a[0], b[0])))
        return window is None or g >= window[0]

    def penalty(self, a: tuple[str, float, float], b: tuple[str, float, float]) -> float:
        """Soft rule: ``transit_penalty`` when a and b are in two cameras whose max transit time is exceeded."""
        if a[0] == b[0]:
            return 0.0
        window = self.windows.get(frozenset((a[0], b[0])))
        if window is None or window[1] is None:
            return 0.0
        return self.transit_penalty if self.gap(a, b) > window[1] else 0.0

    def against(self, span: tuple[str, float, float], members: list[tuple[str, float, float]]) -> float | None:
        """Extra distance for adding ``span`` to an identity with ``members``; None when forbidden.

        The max-transit penalty is judged only against the member that immediately precedes or follows
        ``span`` in time (its neighbours in the identity's timeline), since a long gap to older appearances
        is normal.
        """
        before = after = None
        for m in members:
            if not self.compatible(span, m):
                return None
            if m[2] <= span[1] and (before is None or m[2] > before[2]):
                before = m
            if m[1] >= span[2] and (after is None or m[1] < after[1]):
                after = m
        return sum(self.penalty(span, m) for m in (before, after) if m is not None)
