"""Map a validated ``identity:`` section to the plain-argument objects (config stays out of constructors)."""

from __future__ import annotations

import logging
from pathlib import Path

from streid.pipeline.identity.calibration import Thresholds, artifact_calibration, resolve_thresholds
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.site_calibration import SiteCalibrator, refines_offline
from streid.pipeline.identity.store import SqliteStore

log = logging.getLogger(__name__)


def constraints_from_config(cfg: IdentityConfig) -> Constraints:
    return Constraints.from_site(cfg.site, tolerance_s=cfg.time_tolerance_s, transit_penalty=cfg.transit_penalty)


def thresholds_from_config(cfg: IdentityConfig, embedder: str | Path | None = None) -> Thresholds:
    """Gate and offline threshold in force at the start: config > the embedder artifact's calibration > fallback."""
    from streid.pipeline.embedder import artifact_meta

    meta = artifact_meta(embedder) if embedder and cfg.calibration.use_artifact else None
    thresholds = resolve_thresholds(cfg.gate, cfg.offline_threshold, artifact_calibration(meta, str(embedder)))
    refined = ""
    if cfg.calibration.refine:
        both = refines_offline(thresholds.offline_source, cfg.calibration.refine_offline)
        refined = "; refined on this site" + ("" if both else " (the gate)")
    log.info("identity thresholds: gate %.3f (%s), offline_threshold %.3f (%s)%s", thresholds.gate,
             thresholds.gate_source, thresholds.offline_threshold, thresholds.offline_source, refined)
    return thresholds


def calibrator_from_config(cfg: IdentityConfig, thresholds: Thresholds) -> SiteCalibrator | None:
    """The per-site refinement (None when ``identity.calibration.refine`` is off)."""
    c = cfg.calibration
    if not c.refine:
        return None
    return SiteCalibrator(thresholds, band=c.band, refit_every=c.refit_every, max_pairs=c.max_pairs,
                          refine_offline=c.refine_offline)


def matcher_from_config(cfg: IdentityConfig, dim: int, thresholds: Thresholds | None = None) -> OnlineMatcher:
    gate = (thresholds or resolve_thresholds(cfg.gate, cfg.offline_threshold, None)).gate
    return OnlineMatcher(dim, constraints_from_config(cfg), gate=gate, switch_margin=cfg.switch_margin,
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


def resume_matcher(cfg: IdentityConfig, store: SqliteStore, dim: int,
                   thresholds: Thresholds | None = None) -> OnlineMatcher:
    """A matcher whose gallery holds every stored tracklet that still has an embedding and a global id."""
    m = matcher_from_config(cfg, dim, thresholds)
    for t in store.tracklets():
        if t.embedding is not None and t.global_id is not None:
            m.restore(t.obs(), t.global_id)
    return m
