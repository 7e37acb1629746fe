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
  appearances;
- the side rule, where a transit window names the side of a camera's frame that leads to the other camera: a
  person seen first in camera a and then in b walked toward a's side to b, and came into b from b's side to a. A
  track that clearly walked the other way (net sideways movement of at least ``side_move`` of the frame width,
  ``TrackletObs.dx``) cannot be one end of that walk (hard). Tracks that moved less are not judged: people also
  walk toward or away from a camera, turn, or are cut short by an occlusion.
Without a site config: no overlapping cameras, no transit limits, no sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streid.pipeline.identity.config import SiteConfig

# (camera, start s, end s[, dx]): what the rules judge of a tracklet; dx (share of the frame width, + = right)
# is optional and None when unknown, so a 3-tuple is judged by every rule but the side rule.
Span = tuple[str, float, float] | tuple[str, float, float, float | None]
SIGN = {"left": -1, "right": 1}


def _dx(span: Span) -> float | None:
    return span[3] if len(span) > 3 else None  # type: ignore[misc]


@dataclass
class Constraints:
    """Pairwise compatibility of (camera, t_start, t_end) spans."""

    overlaps: set[frozenset[str]] = field(default_factory=set)
    windows: dict[frozenset[str], tuple[float, float | None]] = field(default_factory=dict)
    tolerance_s: float = 0.0
    transit_penalty: float = 0.5
    max_pass_s: float | None = None
    sides: dict[tuple[str, str], int] = field(default_factory=dict)  # (camera, toward camera) -> -1 left, +1 right
    side_move: float = 0.2

    @classmethod
    def from_site(cls, site: SiteConfig | None, tolerance_s: float = 0.0, transit_penalty: float = 0.5) -> Constraints:
        if site is None:
            return cls(tolerance_s=tolerance_s, transit_penalty=transit_penalty)
        sides = {(w.a, w.b): SIGN[w.a_side] for w in site.transit if w.a_side}
        sides.update({(w.b, w.a): SIGN[w.b_side] for w in site.transit if w.b_side})
        return cls(
            overlaps={frozenset(p) for p in site.overlaps if p[0] != p[1]},
            windows={frozenset((w.a, w.b)): (w.min_s, w.max_s) for w in site.transit},
            tolerance_s=tolerance_s, transit_penalty=transit_penalty, max_pass_s=site.max_pass_s,
            sides=sides, side_move=site.side_move,
        )

    def gap(self, a: Span, b: Span) -> float:
        """Seconds between the end of the earlier span and the start of the later one (negative = overlap)."""
        return max(a[1], b[1]) - min(a[2], b[2])

    def compatible(self, a: Span, b: Span) -> bool:
        """Hard rules only: not at once in non-overlapping cameras, no transit faster than its minimum, one pass
        per camera where the site says so, no walk out of or into a camera by the wrong side."""
        g = self.gap(a, b)
        if g < -self.tolerance_s:
            return a[0] != b[0] and frozenset((a[0], b[0])) in self.overlaps
        if a[0] == b[0]:
            return self.max_pass_s is None or max(a[2], b[2]) - min(a[1], b[1]) <= self.max_pass_s
        window = self.windows.get(frozenset((a[0], b[0])))
        return (window is None or g >= window[0]) and self.sides_agree(a, b)

    def sides_agree(self, a: Span, b: Span) -> bool:
        """The side rule for two spans in two cameras, one after the other (the one that starts first left first)."""
        if not self.sides:
            return True
        first, then = (a, b) if a[1] <= b[1] else (b, a)
        out, into = self.sides.get((first[0], then[0])), self.sides.get((then[0], first[0]))
        dx_out, dx_in = _dx(first), _dx(then)
        if out is not None and dx_out is not None and out * dx_out < -self.side_move:
            return False  # walked away from the side toward the next camera
        return into is None or dx_in is None or into * dx_in <= self.side_move  # walked toward where it came from

    def penalty(self, a: Span, b: Span) -> float:
        """Soft rule: ``transit_penalty`` when a and b are in two cameras whose max transit time is exceeded."""
        if a[0] == b[0]:
            return 0.0
        window = self.windows.get(frozenset((a[0], b[0])))
        if window is None or window[1] is None:
            return 0.0
        return self.transit_penalty if self.gap(a, b) > window[1] else 0.0

    def against(self, span: Span, members: list[Span]) -> float | None:
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
