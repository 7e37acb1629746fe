"""Online matcher: a gallery of global identities and joint (Hungarian) assignment of arriving tracklets.

Rules:
- distance to an identity = cosine distance to its closest exemplar (each identity keeps at most
  ``max_exemplars`` embeddings; when full, the most redundant one - highest similarity to the others - is
  dropped, which keeps the set diverse) plus the site's transit penalty; identities forbidden by the site
  rules are not candidates;
- tracklets not seen before that arrive in one ``update`` call are assigned jointly with
  ``scipy.optimize.linear_sum_assignment``; each may take an identity (cost = distance, only if <= ``gate``)
  or a private "new identity" column (cost = ``gate``); one identity takes at most one of them;
- an update of an already assigned tracklet refines its identity (its embedding becomes an exemplar); it
  switches only when another compatible identity is closer by more than ``switch_margin`` and within the
  gate (the old identity is measured without this tracklet's own exemplar, so it cannot vote for itself);
- every call returns a :class:`Decision` per tracklet with the chosen distance and the runner-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from streid.pipeline.identity.constraints import Constraints, Span
from streid.pipeline.identity.records import Decision, TrackletObs, normalise

_FORBIDDEN = 1e6


@dataclass
class _Identity:
    gid: int
    members: dict[tuple[str, int], Span] = field(default_factory=dict)
    owners: list[tuple[str, int] | None] = field(default_factory=list)  # which tracklet gave each exemplar slot
    total: np.ndarray | None = None  # running sum of every embedding seen (prototype = normalised sum)


class Gallery:
    """Exemplar embeddings of every identity in one (capacity, K, D) array, so a query is one matmul."""

    def __init__(self, dim: int, max_exemplars: int) -> None:
        self.dim, self.k = dim, max_exemplars
        self.ex = np.zeros((64, max_exemplars, dim), np.float32)
        self.valid = np.zeros((64, max_exemplars), bool)
        self.count = 0

    def add_row(self) -> int:
        if self.count == len(self.ex):
            self.ex = np.concatenate([self.ex, np.zeros_like(self.ex)])
            self.valid = np.concatenate([self.valid, np.zeros_like(self.valid)])
        self.count += 1
        return self.count - 1

    def distances(self, q: np.ndarray) -> np.ndarray:
        """(count,) cosine distance of q to each identity's closest exemplar (inf for an identity with none)."""
        return self.distances_many(q[None])[0]

    def distances_many(self, qs: np.ndarray) -> np.ndarray:
        """(Q, count) distances for a batch: one BLAS call reads the gallery once for all queries."""
        sims = (qs @ self.ex[: self.count].reshape(-1, self.dim).T).reshape(len(qs), self.count, self.k)
        sims[:, ~self.valid[: self.count]] = -np.inf
        return 1.0 - sims.max(axis=2)


class OnlineMatcher:
    """Assigns global ids to tracklets as they arrive; ``update`` is the one main method, ``reset`` clears it."""

    def __init__(self, dim: int, constraints: Constraints | None = None, gate: float = 0.35,
                 switch_margin: float = 0.1, max_exemplars: int = 8, first_id: int = 1) -> None:
        self.dim, self.gate, self.switch_margin, self.max_exemplars = dim, gate, switch_margin, max_exemplars
        self.constraints = constraints or Constraints()
        self.first_id = first_id
        self.reset()

    def reset(self) -> None:
        self.gallery = Gallery(self.dim, self.max_exemplars)
        self.identities: list[_Identity] = []
        self.assigned: dict[tuple[str, int], int] = {}  # tracklet key -> gallery row

    # ------------------------------------------------------------------ public

    def global_id(self, key: tuple[str, int]) -> int | None:
        row = self.assigned.get(key)
        return None if row is None else self.identities[row].gid

    def prototype(self, gid: int) -> np.ndarray:
        ident = self.identities[gid - self.first_id]
        return normalise(ident.total)

    def restore(self, tracklet: TrackletObs, global_id: int) -> None:
        """Put a tracklet back under a known global id without matching (resume from a store, warm start)."""
        row = global_id - self.first_id
        if row < 0:
            raise ValueError(f"global id {global_id} is below this matcher's first id {self.first_id}")
        while len(self.identities) <= row:
            self._new_identity()
        self._add(tracklet, row)

    def extend(self, key: tuple[str, int], t_end: float) -> None:
        """An assigned track is still in view at ``t_end``: the site rules judge later tracklets against its whole
        visible life, not only up to its last tracklet (else a second person could join it meanwhile)."""
        row = self.assigned.get(key)
        if row is not None:
            members = self.identities[row].members
            cam, t0, t1, *dx = members[key]
            if t_end > t1:
                members[key] = (cam, t0, t_end, *dx)

    def update(self, tracklets: list[TrackletObs]) -> list[Decision]:
        """Assign every tracklet (new ones jointly); returns one decision per input, in input order."""
        decisions: dict[int, Decision] = {}
        fresh = [i for i, t in enumerate(tracklets) if t.key not in self.assigned]
        for i, t in enumerate(tracklets):
            if t.key in self.assigned:
                decisions[i] = self._refine(t)
        if fresh:
            for i, d in zip(fresh, self._assign_jointly([tracklets[i] for i in fresh]), strict=True):
                decisions[i] = d
        return [decisions[i] for i in range(len(tracklets))]

    # ------------------------------------------------------------------ internals

    def _costs(self, t: TrackletObs, exclude_key: tuple[str, int] | None = None,
               dist: np.ndarray | None = None) -> np.ndarray:
        """(n_identities,) distance + penalty for each identity, inf where forbidden (``dist``: precomputed)."""
        q = normalise(t.embedding)
        if dist is not None:
            d = dist
        elif exclude_key is not None:
            row = self.assigned[exclude_key]
            saved = self.gallery.valid[row].copy()
            for slot, owner in enumerate(self.identities[row].owners):
                if owner == exclude_key:
                    self.gallery.valid[row, slot] = False
            d = self.gallery.distances(q)
            self.gallery.valid[row] = saved
        else:
            d = self.gallery.distances(q)
        span = t.span
        out = np.full(len(d), np.inf)
        # Constraint checks cost more than a distance, so only identities that could pass the gate (plus the
        # few nearest, for the runner-up in explanations) get them; the rest stay inf.
        near = np.argpartition(d, min(2, len(d) - 1))[:3] if len(d) else np.zeros(0, np.int64)
        for r in np.union1d(np.flatnonzero(d <= self.gate + self.switch_margin), near):
            if not np.isfinite(d[r]):
                continue
            members = [s for k, s in self.identities[r].members.items() if k != t.key]
            extra = self.constraints.against(span, members)
            if extra is not None:
                out[r] = d[r] + extra
        return out

    def _assign_jointly(self, batch: list[TrackletObs]) -> list[Decision]:
        if self.identities:
            dist = self.gallery.distances_many(normalise(np.stack([t.embedding for t in batch])))
            costs = np.stack([self._costs(t, dist=d) for t, d in zip(batch, dist, strict=True)])
        else:
            costs = np.zeros((len(batch), 0))
        n, m = costs.shape
        big = np.where(np.isfinite(costs) & (costs <= self.gate), costs, _FORBIDDEN)
        new_cols = np.full((n, n), _FORBIDDEN)
        np.fill_diagonal(new_cols, self.gate)
        rows, cols = linear_sum_assignment(np.concatenate([big, new_cols], axis=1))
        out: list[Decision] = []
        for r, c in sorted(zip(rows, cols, strict=True)):
            t = batch[r]
            if c < m:
                out.append(self._record(t, int(c), "match", costs[r]))
            else:
                out.append(self._record(t, self._new_identity(), "new", costs[r]))
        return out

    def _refine(self, t: TrackletObs) -> Decision:
        row = self.assigned[t.key]
        costs = self._costs(t, exclude_key=t.key)
        current = costs[row]
        others = costs.copy()
        others[row] = np.inf
        best = int(np.argmin(others)) if len(others) else -1
        if best >= 0 and others[best] <= self.gate and others[best] < current - self.switch_margin:
            self._remove(t.key)
            return self._record(t, best, "switch", costs)
        return self._record(t, row, "refine", costs)

    def _record(self, t: TrackletObs, row: int, kind: str, costs: np.ndarray) -> Decision:
        others = costs.copy()
        chosen = float(costs[row]) if row < len(costs) and np.isfinite(costs[row]) else None
        if row < len(others):
            others[row] = np.inf
        ru = int(np.argmin(others)) if len(others) and np.isfinite(others.min()) else None
        self._add(t, row)
        return Decision(t.camera, t.track_id, self.identities[row].gid, kind, chosen,
                        None if ru is None else self.identities[ru].gid,
                        None if ru is None else float(others[ru]), t.t_start, t.t_end)

    def _new_identity(self) -> int:
        row = self.gallery.add_row()
        self.identities.append(_Identity(self.first_id + row))
        return row

    def _add(self, t: TrackletObs, row: int) -> None:
        ident = self.identities[row]
        q = normalise(t.embedding)
        ident.members[t.key] = t.span
        ident.total = q.copy() if ident.total is None else ident.total + q
        self.assigned[t.key] = row
        if t.key in ident.owners:  # a refreshed tracklet replaces its own earlier exemplar
            self.gallery.ex[row, ident.owners.index(t.key)] = q
            return
        k = len(ident.owners)
        if k < self.max_exemplars:
            self.gallery.ex[row, k] = q
            self.gallery.valid[row, k] = True
            ident.owners.append(t.key)
            return
        # Full: among the K exemplars and q, drop the one most similar to the rest (keeps the set diverse).
        cand = np.concatenate([self.gallery.ex[row], q[None]])
        sim = cand @ cand.T
        np.fill_diagonal(sim, -np.inf)
        drop = int(np.argmax(sim.max(axis=1)))
        if drop < self.max_exemplars:
            self.gallery.ex[row, drop] = q
            ident.owners[drop] = t.key

    def _remove(self, key: tuple[str, int]) -> None:
        row = self.assigned.pop(key)
        ident = self.identities[row]
        ident.members.pop(key, None)
        keep = [i for i, o in enumerate(ident.owners) if o != key]
        ex = self.gallery.ex[row, keep].copy()
        self.gallery.ex[row] = 0.0
        self.gallery.valid[row] = False
        self.gallery.ex[row, : len(keep)] = ex
        self.gallery.valid[row, : len(keep)] = True
        ident.owners = [ident.owners[i] for i in keep]
