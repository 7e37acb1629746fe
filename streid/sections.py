"""Config sections owned by the core (not by one stage)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streid.config import Section


class RunSection(Section):
    """Settings every job shares: where it writes, its seed, the device and loader workers."""

    seed: int = Field(0, description="one seed drives every random choice of a job")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    workers: int = Field(2, ge=0, description="data-loader / render worker processes")
    out: str = Field("runs", description="default output folder")
