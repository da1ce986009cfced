"""Builds metadata.json, the file serving reads to know how to feed and read the model."""

from __future__ import annotations

from datetime import datetime, timezone

from .constants import (AI_INDEX, INPUT_NAME, LABELS, MEAN, METADATA_SCHEMA_VERSION, OUTPUT_NAME,
                        PIXEL_SCALE, STD)


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_metadata(*, name: str, architecture: str, parameters: int, image_size: int,
                   dataset: dict, framework: str, opset: int, epochs: int, seed: int,
                   created_at: str, threshold: float = 0.5) -> dict:
    return {
        "schema_version": METADATA_SCHEMA_VERSION,
        "name": name,
        "version": None,
        "created_at": created_at,
        "architecture": architecture,
        "parameters": int(parameters),
        "input": {"name": INPUT_NAME, "shape": [-1, 3, image_size, image_size], "dtype": "float32",
                  "layout": "NCHW"},
        "output": {"name": OUTPUT_NAME, "activation": "softmax", "ai_index": AI_INDEX},
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
