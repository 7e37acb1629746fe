"""Inputs that used to run to the end with a wrong result: refused with one clear line instead."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from pydantic import ValidationError

from streid.defaults import default_embedder
from streid.export.metadata import MetadataError
from streid.pipeline.config import PipelineSection
from streid.pipeline.embedder import load_embedder


def test_an_onnx_whose_metadata_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    graph = onnx.load(str(default_embedder()))
    for prop in graph.metadata_props:
        if prop.key == "streid.embedding_dim":
            prop.value = str(int(prop.value) + 8)
    liar = tmp_path / "liar.onnx"
    onnx.save(graph, str(liar))
    with pytest.raises(MetadataError, match="embedding_dim"):
        load_embedder(liar, device="cpu")


@pytest.mark.parametrize("side", ["width", "height"])
def test_absurd_frame_sizes_are_a_config_error(side: str) -> None:
    other = "height" if side == "width" else "width"
    with pytest.raises(ValidationError, match=side):
        PipelineSection.model_validate({side: 100000, other: 360})
