"""Re-id embedder backends the pipeline runs: TensorRT (``.engine``), ONNX Runtime (``.onnx``), torch (checkpoint).

The backend is chosen from the artifact's kind, and the model (name, L, input size, embedding size) from the
metadata the artifact carries, never from its file name. Every backend takes uint8 BGR clips
(N, L, H, W, 3), as tracklet crops come, and returns L2-normalised float32 (N, D), in chunks of at most the
artifact's maximum batch. TensorRT and torch are imported only when such an artifact is opened; the torch
backend (development only) is the one place the pipeline touches training code.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from streid.export.metadata import MetadataError, from_props, read_onnx_meta

DEFAULT_MAX_BATCH = 32
DEVICES = ("auto", "cpu", "cuda")
SUFFIXES = (".engine", ".onnx", ".pt", ".pth")


class Embedder(ABC):
    """One re-id model behind ``embed``; ``meta`` has model, seq_len, height, width, embedding_dim, precision."""

    meta: dict[str, Any]
    max_batch: int
    backend: str

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.meta["seq_len"], self.meta["height"], self.meta["width"], 3)

    def embed(self, clips: np.ndarray) -> np.ndarray:
        """uint8 BGR (N, L, H, W, 3) -> float32 (N, D), rows L2-normalised."""
        clips = np.asarray(clips)
        if clips.ndim != 5 or clips.shape[1:] != self.input_shape or clips.dtype != np.uint8:
            want = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"{self.backend} embedder ({self.meta['model']}) takes uint8 BGR clips (N, {want}), "
                f"got {clips.dtype} {clips.shape}"
            )
        if len(clips) == 0:
            return np.zeros((0, self.meta["embedding_dim"]), np.float32)
        chunks = [self._run(np.ascontiguousarray(clips[s:s + self.max_batch]))
                  for s in range(0, len(clips), self.max_batch)]
        out = np.concatenate(chunks).astype(np.float32, copy=False)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    @abstractmethod
    def _run(self, clips: np.ndarray) -> np.ndarray:
        """One batch of at most ``max_batch`` clips through the model."""

    def close(self) -> None:
        """Release the runtime (sessions, GPU memory); backends that hold nothing special keep this."""
        return None


class OrtEmbedder(Embedder):
    """ONNX Runtime session; execution providers TensorRT > CUDA > CPU as this install has them."""

    backend = "onnxruntime"

    def __init__(self, path: Path, device: str = "auto", threads: int = 0, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        providers = ort_providers(device, ort.get_available_providers())
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.meta = from_props(self.session.get_modelmeta().custom_metadata_map, str(path))
        first = self.session.get_inputs()[0]
        self.input_name = first.name
        fixed = first.shape[0] if isinstance(first.shape[0], int) else None
        self.max_batch = fixed or max_batch
        self.providers = self.session.get_providers()

    def _run(self, clips: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: clips})[0]

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


def ort_providers(device: str, available: list[str]) -> list[str]:
    """Providers for ``device``: auto = every accelerator present then CPU; cuda = fail if CUDA is missing."""
    if device not in DEVICES:
        raise ValueError(f"device '{device}' (choices: {', '.join(DEVICES)})")
    if device == "cpu":
        return ["CPUExecutionProvider"]
    gpu = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available]
    if device == "cuda" and not gpu:
        raise RuntimeError(
            f"device 'cuda' asked for, but this onnxruntime has only {', '.join(available)} (install onnxruntime-gpu)"
        )
    return [*gpu, "CPUExecutionProvider"]


class TrtEmbedder(Embedder):
    """TensorRT engine with its ``ENGINE.json`` metadata; GPU buffers through torch (present on GPU installs)."""

    backend = "tensorrt"

    def __init__(self, path: Path) -> None:
        self.meta = engine_meta(path)
        self.max_batch = int(self.meta.get("max_batch", 1))
        try:
            import tensorrt as trt
            import torch
        except ImportError as exc:
            raise RuntimeError(f"{path}: a TensorRT engine needs tensorrt and torch with CUDA ({exc})") from None
        if not torch.cuda.is_available():
            raise RuntimeError(f"{path}: a TensorRT engine needs an NVIDIA GPU; none is visible")
        self._torch = torch
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"{path}: TensorRT cannot load this engine (built with another TensorRT or GPU?)")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()

    def _run(self, clips: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.cuda.stream(self.stream):
            x = torch.from_numpy(clips).cuda(non_blocking=True)
            y = torch.empty((len(clips), self.meta["embedding_dim"]), dtype=torch.float32, device="cuda")
            self.context.set_input_shape("clips", tuple(x.shape))
            self.context.set_tensor_address("clips", x.data_ptr())
            self.context.set_tensor_address("embedding", y.data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError("TensorRT execution failed")
        self.stream.synchronize()
        return y.cpu().numpy()

    def close(self) -> None:
        self.context = self.engine = None


class TorchEmbedder(Embedder):
    """A training checkpoint run in PyTorch, with the artifacts' preprocessing (development only)."""

    backend = "torch"

    def __init__(self, path: Path, device: str = "auto", max_batch: int = DEFAULT_MAX_BATCH) -> None:
        import torch

        import streid
        from streid.export.checkpoint import load_checkpoint  # lazy: the only pipeline path into training code
        from streid.export.wrapper import ClipEmbedder
        from streid.train.data.clips import MEAN, STD

        if device not in DEVICES:
            raise ValueError(f"device '{device}' (choices: {', '.join(DEVICES)})")
        from streid.export.onnx_export import trained_on

        model, config, info = load_checkpoint(path)
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        self.device = torch.device("cuda" if use_cuda else "cpu")
        self._torch = torch
        self.module = ClipEmbedder(model, MEAN, STD).to(self.device).eval()
        self.max_batch = max_batch
        self.meta = {
            "model": info["model"], "config": info["model_config"], "seq_len": info["seq_len"],
            "height": info["height"], "width": info["width"], "embedding_dim": info["embedding_dim"],
            "mean": list(MEAN), "std": list(STD), "precision": "fp32", "version": streid.__version__,
            "trained_on": trained_on(config),
        }

    def _run(self, clips: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.module(self._torch.from_numpy(clips).to(self.device)).float().cpu().numpy()


def engine_meta(path: Path) -> dict[str, Any]:
    """The metadata of a TensorRT engine, from its ``ENGINE.json`` sidecar."""
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.is_file():
        raise MetadataError(f"{path}: no {sidecar.name} next to the engine; the model is never guessed from a name")
    try:
        raw = json.loads(sidecar.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{sidecar}: not valid JSON ({exc})") from None
    return from_props({f"streid.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()},
                      str(sidecar))


def artifact_meta(path: str | Path) -> dict[str, Any] | None:
    """An artifact's metadata without opening a runtime session (None for a training checkpoint: it carries no
    calibration). Used to read the matching thresholds that travel with the embedder."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".engine":
        return engine_meta(path)
    if suffix == ".onnx":
        return read_onnx_meta(path)
    return None


def load_embedder(path: str | Path, device: str = "auto", threads: int = 0) -> Embedder:
    """The backend for an artifact: ``.engine`` TensorRT, ``.onnx`` ONNX Runtime, ``.pt``/``.pth`` torch."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: re-id artifact not found")
    suffix = path.suffix.lower()
    if suffix == ".engine":
        return TrtEmbedder(path)
    if suffix == ".onnx":
        return OrtEmbedder(path, device=device, threads=threads)
    if suffix in (".pt", ".pth"):
        return TorchEmbedder(path, device=device)
    raise ValueError(f"{path}: unknown artifact kind '{suffix}' (choices: {', '.join(SUFFIXES)})")
