"""The ``identity:`` config section: matching thresholds, the site (cameras, overlaps, transit windows), retention.

Pydantic only, so validating a config never imports numpy-heavy or GStreamer code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from streid.config import Section

Side = Literal["left", "right"]


class TransitWindow(Section):
    """Allowed walking time in seconds between leaving camera ``a`` and appearing in camera ``b`` (both ways), and
    optionally the side of each camera's frame that the walk between them passes (the side rule, below)."""

    a: str
    b: str
    min_s: float = Field(0.0, ge=0.0)
    max_s: float | None = Field(None, gt=0.0)
    a_side: Side | None = Field(None, description="the side of a's frame that people walking to b leave by "
                                                  "(and people from b come in by)")
    b_side: Side | None = Field(None, description="the side of b's frame that people walking to a leave by "
                                                  "(and people from a come in by)")

    @model_validator(mode="after")
    def _ordered(self) -> TransitWindow:
        if self.max_s is not None and self.max_s < self.min_s:
            raise ValueError(f"transit {self.a}-{self.b}: max_s {self.max_s} < min_s {self.min_s}")
        return self


class SiteConfig(Section):
    """Which cameras exist, which pairs see the same area, and how long a walk between two cameras takes."""

    cameras: list[str] = Field(default_factory=list)
    overlaps: list[tuple[str, str]] = Field(default_factory=list)  # pairs that may see one person at once
    transit: list[TransitWindow] = Field(default_factory=list)
    max_pass_s: float | None = Field(
        None, gt=0.0,
        description="only where people pass each camera once (a corridor, a gate, a one-way route: nobody walks back "
                    "into a camera they left): the longest one pass through a camera takes. Two tracks in one camera "
                    "that together span longer are two people. Unset: people may come back to a camera")
    side_move: float = Field(
        0.2, gt=0.0, le=1.0,
        description="the side rule (transit a_side / b_side): a track that has walked at least this share of the "
                    "frame width away from the side toward the next camera did not go there next, and one that "
                    "walked this far toward the side of the camera it came from did not come from it. Tracks that "
                    "moved less (toward or away from the camera, or cut short) are not judged")

    def summary(self) -> str:
        """One line of the rules in force, for the job log (a rule read from a site.json is otherwise invisible)."""
        cams = f"{len(self.cameras)} cameras" if self.cameras else "cameras not listed"
        passes = (f"one pass per camera (max_pass_s {self.max_pass_s:g})" if self.max_pass_s is not None
                  else "people may come back to a camera")
        sides = sum(1 for w in self.transit if w.a_side or w.b_side)
        sided = f" ({sides} with sides)" if sides else ""
        return f"{cams}, {len(self.overlaps)} overlapping pairs, {len(self.transit)} transit windows{sided}, {passes}"

    @model_validator(mode="after")
    def _known_cameras(self) -> SiteConfig:
        if not self.cameras:
            return self
        known = set(self.cameras)
        names = [c for pair in self.overlaps for c in pair] + [c for w in self.transit for c in (w.a, w.b)]
        unknown = sorted({c for c in names if c not in known})
        if unknown:
            raise ValueError(f"cameras {unknown} are used in overlaps/transit but not listed in cameras")
        return self


LIVE_EMBEDDING_TTL_S = 30 * 86400.0  # live default: a month of re-identification across days
LIVE_CROP_TTL_S = 7 * 86400.0  # live default: a week of pictures of people for review


class RetentionConfig(Section):
    """How long embeddings and crops are kept and whether crops are stored at all.

    None (the default): live runs keep crops 7 days and embeddings 30 days, offline jobs keep everything;
    0: keep forever; a number: seconds since the row was written.
    """

    embedding_ttl_s: float | None = Field(None, ge=0.0)
    crop_ttl_s: float | None = Field(None, ge=0.0)
    store_crops: bool = True

    def ttls(self, live: bool) -> tuple[float | None, float | None]:
        """(embedding, crop) TTLs in seconds, None = forever, with the live defaults filled in."""
        def pick(value: float | None, live_default: float) -> float | None:
            if value is None:
                return live_default if live else None
            return value or None

        return pick(self.embedding_ttl_s, LIVE_EMBEDDING_TTL_S), pick(self.crop_ttl_s, LIVE_CROP_TTL_S)


class CalibrationConfig(Section):
    """Per-site refinement of the thresholds that the config leaves unset (see identity/site_calibration.py)."""

    refine: bool = True  # refit the gate from this site's unlabeled pairs while running
    refine_offline: bool = False  # refit offline_threshold too (off: it lost on every validation site, see README)
    use_artifact: bool = True  # start from the embedder artifact's calibration (false: the fallback, site rule only)
    refit_every: int = Field(200, ge=1)  # new negative pairs between two refits
    band: float = Field(0.25, gt=0.0, lt=1.0)  # a refit stays within prior * (1 +- band) (2x band without artifact)
    max_pairs: int = Field(4000, ge=10)  # distances kept per kind (memory bound)
class RemoteConfig(Section):
    """``mode: remote``: where the site's identity service is reached, and the edge's outbox (loss-free buffer).

    Credentials are never in the config: STREID_MQTT_USERNAME / STREID_MQTT_PASSWORD[_FILE] in the environment.
    """

    broker: str = "mqtt://127.0.0.1:1883"  # mqtts:// for TLS (CA: STREID_MQTT_CA)
    site: str = Field("default", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    edge: str = Field("edge", pattern=r"^[A-Za-z0-9_.-]{1,64}$")  # unique per device on the site
    outbox: str | None = None  # SQLite file; default OUTPUT_DIR/outbox.sqlite
    max_outbox: int = Field(100_000, ge=1)  # past this many unsent messages the oldest are dropped (counted)


class IdentityConfig(Section):
    """Online matching gate and switch rule, offline clustering threshold, site and retention.

    ``gate`` / ``offline_threshold`` unset (the default): the embedder artifact's calibration, refined on the site;
    without one a conservative fallback, refined on the site (identity/calibration.py says how).
    """

    enabled: bool = True  # streid run: global ids online whenever the pipeline has an embedder
    gate: float | None = Field(None, gt=0.0, le=2.0)  # max cosine distance to join an existing identity
    switch_margin: float = Field(0.1, ge=0.0)  # an assigned tracklet moves only if another id is this much closer
    max_exemplars: int = Field(8, ge=1)
    transit_penalty: float = Field(0.5, ge=0.0)  # added to the distance when a transit is slower than max_s
    offline_threshold: float | None = Field(None, gt=0.0, le=2.0)  # average-linkage stop distance
    time_tolerance_s: float = Field(0.0, ge=0.0)  # overlaps shorter than this are not "at the same time"
    camera_centering: bool = Field(
        True, description="subtract each camera's mean embedding before matching (identity/centering.py)"
    )
    track_mean: bool = Field(
        True, description="store each track as the mean of its clips so far, for the offline pass (trackmean.py)"
    )
    site: SiteConfig = Field(default_factory=SiteConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    mode: Literal["embedded", "remote"] = "embedded"  # remote: a site-wide `streid identity serve` decides
    remote: RemoteConfig = Field(default_factory=RemoteConfig)
