"""Errors of the export stage: every failure is raised (never a None return) and names the file."""

from __future__ import annotations


class ExportError(RuntimeError):
    """An export that could not produce a correct artifact; nothing is left under the output name."""


class ParityError(ExportError):
    """The exported graph disagrees with PyTorch beyond the tolerance."""


class TensorRTUnavailable(ExportError):
    """TensorRT's Python package is not installed; ``trtexec_line`` says what to run on the device."""

    def __init__(self, message: str, trtexec_line: str) -> None:
        super().__init__(message)
        self.trtexec_line = trtexec_line
