"""Public models STREID knows by name: what each is, what it learned from, its licence, where it comes from.

Nothing here downloads anything: ``streid models pull NAME`` fetches one when the user asks. Checksums
are given only where the publisher gives one; for the others the sha256 is recorded at pull time (and
shown by ``streid models list``), so a later pull of the same name is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

ULTRALYTICS_LICENCE = "AGPL-3.0"
TORCHREID_LICENCE = "MIT; data: research terms"
NOTES = (
    "ultralytics: AGPL-3.0 (an enterprise licence exists for closed products).",
    "torchreid (Zhou et al.): MIT; weights from its model zoo as mirrored on Google Drive by BoxMOT; their "
    "training sets (MSMT17, Market-1501) allow research use, check their terms before deploying.",
    "sha256: none of these is published; pull records it (and checks it on later pulls).",
)


@dataclass(frozen=True)
class KnownModel:
    """One public model: ``task`` is detector or reid; ``arch`` the architecture our code builds or loads."""

    name: str
    task: str
    arch: str
    data: str
    licence: str
    url: str
    kind: str  # ultralytics | torchreid: how the file is read once pulled
    sha256: str | None = None  # published checksum; None = unpublished (recorded at pull time)
    trained_on: str = "real"
    suffix: str = ".pt"


def _ultralytics(name: str, arch: str, release: str) -> KnownModel:
    return KnownModel(name, "detector", arch, "COCO 2017 (person = class 0)", ULTRALYTICS_LICENCE,
                      f"https://github.com/ultralytics/assets/releases/download/{release}/{name}.pt", "ultralytics")


def _osnet(arch: str, data: str, drive_id: str) -> KnownModel:
    names = {"msmt17": "MSMT17", "market1501": "Market-1501", "dukemtmcreid": "DukeMTMC-reID"}
    return KnownModel(f"{arch}_{data}", "reid", arch, f"{names[data]} (image re-id)",
                      TORCHREID_LICENCE, f"https://drive.google.com/uc?id={drive_id}&export=download", "torchreid")


KNOWN: tuple[KnownModel, ...] = (
    _ultralytics("yolo11n", "YOLO11n", "v8.3.0"),
    _ultralytics("yolov8n", "YOLOv8n", "v8.2.0"),
    _osnet("osnet_x1_0", "msmt17", "112EMUfBPYeYg70w-syK6V6Mx8-Qb9Q1M"),
    _osnet("osnet_x1_0", "market1501", "1vduhq5DpN2q1g4fYEZfPI17MJeh9qyrA"),
    _osnet("osnet_x0_75", "msmt17", "1QEGO6WnJ-BmUzVPd3q9NoaO_GsPNlmWc"),
    _osnet("osnet_x0_75", "market1501", "1ozRaDSQw_EQ8_93OUmjDbvLXw9TnfPer"),
    _osnet("osnet_x0_5", "msmt17", "1UT3AxIaDvS2PdxzZmbkLmjtiqq7AIKCv"),
    _osnet("osnet_x0_5", "market1501", "1PLB9rgqrUM7blWrg4QlprCuPT7ILYGKT"),
    _osnet("osnet_x0_25", "msmt17", "1sSwXSUlj4_tHZequ_iZ8w_Jh0VaRQMqF"),
    _osnet("osnet_x0_25", "market1501", "1z1UghYvOTtjx7kEoRfmqSMu-z62J6MAj"),
    _osnet("osnet_ibn_x1_0", "msmt17", "1q3Sj2ii34NlfxA4LvmHdWO_75NDRmECJ"),
    _osnet("osnet_ain_x1_0", "msmt17", "1SigwBE6mPdqiJMqhuIY4aqC7--5CsMal"),
)


def known(name: str) -> KnownModel | None:
    """The public model of that name, if there is one."""
    return next((m for m in KNOWN if m.name == name), None)
