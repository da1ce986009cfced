"""Builds metadata.json, the file serving reads to know how to feed and read the model."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from .constants import AI_INDEX, INPUT_NAME, LABELS, MEAN, METADATA_SCHEMA_VERSION, OUTPUT_NAME, PIXEL_SCALE, STD


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# A whole-image classifier: two logits, softmax, P(AI) at AI_INDEX.
CLASSIFIER_OUTPUT = {"name": OUTPUT_NAME, "activation": "softmax", "ai_index": AI_INDEX}


def build_metadata(
    *,
    name: str,
    architecture: str,
    parameters: int,
    image_size: int,
    dataset: dict,
    framework: str,
    opset: int,
    epochs: int,
    seed: int,
    created_at: str,
    threshold: float = 0.5,
    output: Optional[dict] = None,
    patches: Optional[dict] = None,
    ood: Optional[dict] = None,
    operating_point: Optional[dict] = None,
) -> dict:
    """metadata.json for every trainer (models/metadata.schema.json; run_files.write_run_file checks
    it before it is written). A patch model passes its `patches` grid, `ood` statistics and its
    sigmoid `output`; `image_size` is then the patch side."""
    metadata = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "name": name,
        "version": None,
        "created_at": created_at,
        "architecture": architecture,
        "parameters": int(parameters),
        "input": {"name": INPUT_NAME, "shape": [-1, 3, image_size, image_size], "dtype": "float32", "layout": "NCHW"},
        "output": dict(output if output is not None else CLASSIFIER_OUTPUT),
        "preprocessing": {
            "width": image_size,
            "height": image_size,
            "resize": "cover",
            "interpolation": "bilinear",
            "channel_order": "RGB",
            "scale": PIXEL_SCALE,
            "mean": list(MEAN),
            "std": list(STD),
        },
        "labels": list(LABELS),
        "threshold": threshold,
        "training": {
            "dataset": {"name": dataset["name"], "version": dataset.get("version")},
            "framework": framework,
            "onnx_opset": int(opset),
            "image_size": image_size,
            "epochs": int(epochs),
            "seed": int(seed),
        },
    }
    optional = {"patches": patches, "ood": ood, "operating_point": operating_point}
    metadata.update({key: value for key, value in optional.items() if value is not None})
    return metadata
