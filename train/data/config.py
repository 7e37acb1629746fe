"""``data:`` config section (pydantic only, so validating a config never imports torch or cv2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from streid.config import Section

LOW_RES_HEIGHT = (20, 80)  # person heights (px) a far camera shows; the default of data.low_res_height


class DataConfig(Section):
    """Where the tracklets are and how clips are sampled, sized and batched."""

    format: Literal["mars", "synthetic", "dukevideo", "lsvid", "ilidsvid", "prid2011"] = "mars"
    root: str = "data/mars"
    extra_train: list[str] = Field(
        default_factory=list,
        description="more data sets of the same format whose TRAIN splits join root's training identities "
        "(each set's ids numbered after the last one's); query/gallery come from root alone",
    )
    split: int = Field(
        0,
        ge=0,
        description="which of the 10 random train/test splits for ilidsvid and prid2011 (papers average all 10); "
        "must be 0 for formats with one fixed split",
    )
    seq_len: int = Field(8, ge=1, description="frames per clip (L)")
    train_sampling: Literal["chunks", "window"] = "chunks"
    window: int = Field(64, ge=1, description="window length for train_sampling=window")
    test_sampling: Literal["evenly", "dense"] = "evenly"
    height: int = Field(256, ge=8)
    width: int = Field(128, ge=8)
    p: int = Field(16, ge=1, description="identities per batch")
    k: int = Field(4, ge=1, description="tracklets per identity per batch")
    flip: bool = True
    crop_pad: int = Field(10, ge=0, description="pad then random-crop back; 0 disables")
    random_erasing: float = Field(0.5, ge=0.0, le=1.0, description="probability per clip")
    low_res: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="probability per clip of seeing it as a far camera does: shrunk to a person height drawn "
        "from low_res_height, then resized back (0 disables)",
    )
    low_res_height: tuple[int, int] = Field(
        LOW_RES_HEIGHT, description="pixel heights the low_res clips are shrunk to (log-uniform, inclusive)"
    )
    hard_identities: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of each batch's identities chosen as the nearest neighbours (by classifier weights, "
        "refreshed every epoch) of the others, so look-alikes meet in one batch and the triplet sees them (0 disables)",
    )
    workers: int = Field(2, ge=0)
    protocol: Literal["torchreid", "ap3d"] = "torchreid"

    @field_validator("low_res_height")
    @classmethod
    def _heights(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 2 <= v[0] <= v[1]:
            raise ValueError(f"must be two heights with 2 <= low <= high, got {list(v)}")
        return v
