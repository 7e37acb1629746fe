"""Map a validated ``identity:`` section to the plain-argument objects (config stays out of constructors)."""

from __future__ import annotations

from pathlib import Path

from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.store import SqliteStore


def constraints_from_config(cfg: IdentityConfig) -> Constraints:
    return Constraints.from_site(cfg.site, tolerance_s=cfg.time_tolerance_s, transit_penalty=cfg.transit_penalty)


def matcher_from_config(cfg: IdentityConfig, dim: int) -> OnlineMatcher:
    return OnlineMatcher(dim, constraints_from_config(cfg), gate=cfg.gate, switch_margin=cfg.switch_margin,
                         max_exemplars=cfg.max_exemplars)


def store_from_config(cfg: IdentityConfig, out_dir: str | Path, embedder: str | Path | None = None,
                      live: bool = False) -> SqliteStore:
    """The store in ``out_dir``; records which embedder filled it so ``streid search`` uses the same one."""
    emb_ttl, crop_ttl = cfg.retention.ttls(live)
    store = SqliteStore(out_dir, embedding_ttl_s=emb_ttl, crop_ttl_s=crop_ttl, store_crops=cfg.retention.store_crops)
    if embedder is not None:
        previous = store.get_meta("embedder")
        if previous is not None and previous != str(embedder):
            store.close()
            raise ValueError(f"{store.path}: filled by embedder {previous}, not {embedder}; use another --out")
        store.set_meta("embedder", str(embedder))
    return store


def resume_matcher(cfg: IdentityConfig, store: SqliteStore, dim: int) -> OnlineMatcher:
    """A matcher whose gallery holds every stored tracklet that still has an embedding and a global id."""
    from streid.pipeline.identity.records import TrackletObs

    m = matcher_from_config(cfg, dim)
    for t in store.tracklets():
        if t.embedding is not None and t.global_id is not None:
            m.restore(TrackletObs(t.camera, t.track_id, t.t_start, t.t_end, t.embedding), t.global_id)
    return m
