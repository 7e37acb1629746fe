"""Offline identities without N x N matrices: the dense method of :mod:`cluster`, over a sparse candidate graph.

Same algorithm, same result (a test holds the two equal): average linkage with cannot-links, then the same
reassignment pass. What changes is what is stored:
- distances: a cluster keeps the sum of its members' embeddings, so the mean cosine distance of two clusters is
  ``1 - S_a . S_b / (n_a n_b)`` exactly, plus the transit penalties of their member pairs;
- candidates: only clusters joined by an edge of the radius graph (:func:`neighbours.candidate_graph`) can be
  within the threshold, because a mean within it needs one member pair within it;
- cannot-links: never materialised; the site rules are checked between the members of two candidate clusters
  when they are about to be compared (vectorised, :class:`SpanRules`).
Merges come off a heap keyed (distance, lowest member, lowest member) - the order in which the dense method
picks them - and a cluster's entry is recomputed lazily when the cluster it pointed to has changed.
"""

from __future__ import annotations

import heapq

import numpy as np

from streid.pipeline.identity.cluster import unit64
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.neighbours import EXACT_LIMIT, candidate_graph
from streid.pipeline.identity.records import TrackletObs


class SpanRules:
    """:class:`Constraints` for arrays of spans: camera index, start, end per tracklet."""

    def __init__(self, tracklets: list[TrackletObs], constraints: Constraints) -> None:
        cams = sorted({t.camera for t in tracklets})
        col = {c: i for i, c in enumerate(cams)}
        self.cam = np.array([col[t.camera] for t in tracklets], np.int64)
        self.start = np.array([t.t_start for t in tracklets], np.float64)
        self.end = np.array([t.t_end for t in tracklets], np.float64)
        self.dx = np.array([np.nan if t.dx is None else t.dx for t in tracklets], np.float64)
        c = len(cams)
        self.side = np.zeros((c, c))  # side[a, b]: sign of the side of a's frame toward b (0: not given)
        self.overlap = np.zeros((c, c), bool)
        self.min_s = np.full((c, c), -np.inf)
        self.max_s = np.full((c, c), np.inf)
        for a in range(c):
            for b in range(c):
                pair = frozenset((cams[a], cams[b]))
                self.overlap[a, b] = a != b and pair in constraints.overlaps
                window = constraints.windows.get(pair) if a != b else None
                if window is not None:
                    self.min_s[a, b] = window[0]
                    self.max_s[a, b] = np.inf if window[1] is None else window[1]
                self.side[a, b] = constraints.sides.get((cams[a], cams[b]), 0)
        self.tolerance, self.penalty = constraints.tolerance_s, constraints.transit_penalty
        self.max_pass = np.inf if constraints.max_pass_s is None else constraints.max_pass_s
        self.any_penalty = bool(np.isfinite(self.max_s).any()) and self.penalty != 0.0
        self.side_move = constraints.side_move
        self.any_side = bool(self.side.any())

    def check(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(incompatible, penalised) for broadcastable tracklet index arrays ``x`` and ``y``."""
        cx, cy = self.cam[x], self.cam[y]
        gap = np.maximum(self.start[x], self.start[y]) - np.minimum(self.end[x], self.end[y])
        same = cx == cy
        if np.isfinite(self.max_pass):  # one pass per camera: a second visit is a cannot-link
            passes = np.maximum(self.end[x], self.end[y]) - np.minimum(self.start[x], self.start[y]) > self.max_pass
        else:  # the default: re-entry always allowed, nothing to compute on this hot path
            passes = False
        bad = np.where(gap < -self.tolerance, ~self.overlap[cx, cy],
                       np.where(same, passes, gap < self.min_s[cx, cy]))
        if self.any_side:  # Constraints.sides_agree; an unknown dx (nan) compares False: not judged
            x_first = self.start[x] <= self.start[y]
            first, then = np.where(x_first, x, y), np.where(x_first, y, x)
            cf, ct = self.cam[first], self.cam[then]
            wrong = (self.side[cf, ct] * self.dx[first] < -self.side_move) | \
                (self.side[ct, cf] * self.dx[then] > self.side_move)
            bad = bad | (~same & (gap >= -self.tolerance) & wrong)
        pen = ~same & (gap > self.max_s[cx, cy]) & ~bad if self.any_penalty else None
        return bad, pen


class _Graph:
    """CSR neighbours of each tracklet, grouped into the current clusters."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr, self.indices = indptr, indices

    def around(self, members: np.ndarray) -> np.ndarray:
        """Tracklets adjacent to any of ``members``."""
        if len(members) == 1:
            m = int(members[0])
            return self.indices[self.indptr[m]:self.indptr[m + 1]]
        return np.concatenate([self.indices[self.indptr[m]:self.indptr[m + 1]] for m in members.tolist()])


class _Clusters:
    """Cluster state of both passes: embedding sums, sizes, member lists, and the cluster of each tracklet."""

    def __init__(self, emb: np.ndarray, owner: np.ndarray, rules: SpanRules, graph: _Graph) -> None:
        self.emb, self.rules, self.graph = emb, rules, graph
        self.owner = owner.copy()
        k = int(owner.max()) + 1
        self.sums = np.zeros((k, emb.shape[1]))
        np.add.at(self.sums, owner, emb)
        self.size = np.bincount(owner, minlength=k).astype(np.int64)
        order = np.argsort(owner, kind="stable")
        self.members: list[list[int]] = [[] for _ in range(k)]
        for c, group in zip(*_groups(owner[order], order), strict=True):
            self.members[c] = group

    def neighbours(self, mem: list[int], own: int) -> np.ndarray:
        """Clusters joined to ``mem`` by a candidate edge, other than ``own``."""
        around = np.unique(self.owner[self.graph.around(np.asarray(mem, np.int64))])
        return around[around != own]

    def penalised(self, mem: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per column of ``other``: any cannot-link with ``mem``, and how many penalised compatible pairs."""
        bad, pen = self.rules.check(mem[:, None], other[None, :])
        return bad.any(axis=0), (pen.sum(axis=0) if pen is not None else None)

    def distances(self, mem: list[int], sums: np.ndarray, size: int, others: np.ndarray,
                  threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean distance of the group (``mem``, ``sums``, ``size``) to each cluster in ``others``; only clusters
        within ``threshold`` and without a cannot-link are returned: (clusters, distances)."""
        osize = self.size[others]
        d = 1.0 - (self.sums[others] @ sums) / (size * osize)
        near = d <= threshold
        others, d, osize = others[near], d[near], osize[near]
        if len(others) == 0:
            return others, d
        flat = np.fromiter((m for c in others.tolist() for m in self.members[c]), np.int64, count=int(osize.sum()))
        clash, count = self.penalised(np.asarray(mem, np.int64), flat)
        starts = np.concatenate([[0], np.cumsum(osize)[:-1]])
        clash = np.logical_or.reduceat(clash, starts)
        if count is not None:
            d = d + self.rules.penalty * np.add.reduceat(count, starts) / (size * osize)
        ok = ~clash & (d <= threshold)
        return others[ok], d[ok]


def _groups(sorted_keys: np.ndarray, values: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """Split ``values`` by runs of equal ``sorted_keys``."""
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    keys = sorted_keys[np.concatenate([[0], cuts])].tolist() if len(sorted_keys) else []
    return keys, [g.tolist() for g in np.split(values, cuts)] if len(values) else []


def merge_pass(cl: _Clusters, threshold: float) -> np.ndarray:
    """Average-linkage merges in the dense method's order until the closest allowed pair is past ``threshold``;
    returns labels 0..K-1 in order of each cluster's first member (as :func:`cluster.agglomerate`)."""
    n = len(cl.size)
    version = np.zeros(n, np.int64)
    alive = np.ones(n, bool)
    lowest = np.arange(n, dtype=np.int64)  # a cluster's lowest member: its row index in the dense method
    # (distance, lo, hi, cluster, its version, target, target's version): the dense method's pick order.
    heap: list[tuple[float, int, int, int, int, int, int]] = []

    def push_best(c: int) -> None:
        others, d = cl.distances(cl.members[c], cl.sums[c], int(cl.size[c]), cl.neighbours(cl.members[c], c),
                                 threshold)
        if len(others):
            k = np.lexsort((lowest[others], d))[0]
            o = int(others[k])
            lo, hi = sorted((int(lowest[c]), int(lowest[o])))
            heapq.heappush(heap, (float(d[k]), lo, hi, c, int(version[c]), o, int(version[o])))

    heap.extend(_first_entries(cl, threshold))
    heapq.heapify(heap)
    while heap:
        _, _, _, c, cver, o, over = heapq.heappop(heap)
        if not alive[c] or version[c] != cver:
            continue  # superseded: the cluster pushed a fresh entry when it changed
        if not alive[o] or version[o] != over:
            push_best(c)  # its target changed since: look again
            continue
        big, small = (c, o) if cl.size[c] >= cl.size[o] else (o, c)
        cl.sums[big] += cl.sums[small]
        cl.size[big] += cl.size[small]
        cl.owner[cl.members[small]] = big
        cl.members[big].extend(cl.members[small])
        cl.members[small] = []
        alive[small] = False
        lowest[big] = min(lowest[big], lowest[small])
        version[big] += 1
        push_best(big)
    roots = np.flatnonzero(alive)
    rank = np.empty(n, np.int64)
    rank[roots[np.argsort(lowest[roots])]] = np.arange(len(roots))
    return rank[cl.owner]


def _first_entries(cl: _Clusters, threshold: float, chunk: int = 1 << 16) -> list[tuple]:
    """Every singleton's best allowed neighbour, computed over all edges at once (the first merge step).

    ``chunk`` edges at a time: their two endpoint rows are gathered in float64 (2 x 64 MB at 64k edges and dim 128;
    a million edges took 2 GB, the peak RSS of a 100k-tracklet job)."""
    indptr, cols = cl.graph.indptr, cl.graph.indices
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    keep_r, keep_c, keep_d = [], [], []
    for s in range(0, len(rows), chunk):
        r, c = rows[s:s + chunk], cols[s:s + chunk]
        d = 1.0 - np.einsum("ij,ij->i", cl.emb[r], cl.emb[c])
        bad, pen = cl.rules.check(r, c)
        if pen is not None:
            d = d + cl.rules.penalty * pen
        ok = ~bad & (d <= threshold)
        keep_r.append(r[ok]), keep_c.append(c[ok]), keep_d.append(d[ok])
    if not keep_r:  # no candidate edge at all (every tracklet far from every other): nothing to merge
        return []
    r, c, d = np.concatenate(keep_r), np.concatenate(keep_c), np.concatenate(keep_d)
    order = np.lexsort((c, d, r))
    r, c, d = r[order], c[order], d[order]
    first = np.concatenate([[True], r[1:] != r[:-1]]) if len(r) else np.zeros(0, bool)
    r, c, d = r[first].tolist(), c[first].tolist(), d[first].tolist()
    return [(dd, min(rr, cc), max(rr, cc), rr, 0, cc, 0) for rr, cc, dd in zip(r, c, d, strict=True)]


def reassign_pass(cl: _Clusters, labels: np.ndarray, threshold: float, margin: float = 0.05,
                  max_rounds: int = 3) -> np.ndarray:
    """:func:`cluster.reassign` over candidate clusters only: one whose mean distance is within ``threshold``
    holds a tracklet within it, so it is a graph neighbour; farther clusters could never be chosen."""
    labels = labels.copy()
    emb, rules = cl.emb, cl.rules
    n = len(labels)
    indptr = cl.graph.indptr
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    for _ in range(max_rounds):
        moved = False
        # Only a tracklet with a neighbour in another cluster can move (checked again as labels change).
        differs = np.zeros(n, bool)
        differs[rows[labels[rows] != labels[cl.graph.indices]]] = True
        for i in np.flatnonzero(differs).tolist():
            own = int(labels[i])
            cands = cl.neighbours([i], own)
            if len(cands) == 0:
                continue
            e = emb[i]
            others, d = cl.distances([i], e, 1, cands, threshold)
            if len(others) == 0:
                continue
            k = np.lexsort((others, d))[0]
            target, best = int(others[k]), float(d[k])
            if cl.size[own] > 1:
                rest = np.asarray([m for m in cl.members[own] if m != i], np.int64)
                total = (len(rest) - e @ (cl.sums[own] - e))
                if rules.any_penalty:
                    total += rules.penalty * int(cl.penalised(np.array([i]), rest)[1].sum())
                own_mean = total / len(rest)
            else:
                own_mean = threshold
            if best < own_mean - margin:
                labels[i] = target
                cl.owner[i] = target
                cl.members[own].remove(i)
                cl.members[target].append(i)
                cl.sums[own] -= e
                cl.sums[target] += e
                cl.size[own] -= 1
                cl.size[target] += 1
                moved = True
        if not moved:
            break
    _, first = np.unique(labels, return_index=True)
    order = np.empty(int(labels.max()) + 1 if n else 0, np.int64)
    order[labels[np.sort(first)]] = np.arange(len(first))
    return order[labels]


def cluster_sparse(tracklets: list[TrackletObs], constraints: Constraints | None = None, threshold: float = 0.35,
                   exact_limit: int = EXACT_LIMIT) -> np.ndarray:
    """Global identity label per tracklet (0-based); equal to :func:`cluster.cluster_tracklets`."""
    if not tracklets:
        return np.zeros(0, np.int64)
    emb = unit64(np.stack([t.embedding for t in tracklets]))
    graph = _Graph(*candidate_graph(emb, threshold, exact_limit))
    rules = SpanRules(tracklets, constraints or Constraints())
    n = len(tracklets)
    labels = merge_pass(_Clusters(emb, np.arange(n), rules, graph), threshold)
    return reassign_pass(_Clusters(emb, labels, rules, graph), labels, threshold)

