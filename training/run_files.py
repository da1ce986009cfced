"""The files of a run folder that the TypeScript pipeline reads: split.json, torch_eval.json,
training.json and parity/meta.json. Each is built from a typed record and written only after it
validates against its JSON Schema in models/ (models/run-*.schema.json), the same schema the
pipeline checks it with when it reads the run (pipeline/src/run-dir.ts).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jsonschema

from .constants import MODELS_DIR

SCHEMAS = {
    "split.json": "run-split.schema.json",
    "torch_eval.json": "run-torch-eval.schema.json",
    "training.json": "run-training.schema.json",
    "parity/meta.json": "run-parity-meta.schema.json",
    "metadata.json": "metadata.schema.json",  # what serving loads: never written unchecked
}


class RunFileError(ValueError):
    """A run file about to be written does not match its schema (a bug in the trainer)."""


@lru_cache(maxsize=None)
def _validator(schema_file: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((MODELS_DIR / schema_file).read_text()))


def check_run_file(name: str, value: dict) -> None:
    """Raises RunFileError naming the first few problems when `value` does not fit `name`'s schema."""
    errors = sorted(_validator(SCHEMAS[name]).iter_errors(value), key=lambda error: list(error.path))
    if errors:
        shown = "; ".join(f"/{'/'.join(str(p) for p in error.path)} {error.message}" for error in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        raise RunFileError(f"{name} does not match models/{SCHEMAS[name]}: {shown}{more}")


def write_run_file(out: Path, name: str, value) -> None:
    """Writes a record (a dataclass with to_json, or a dict) as `out/name` once it validates."""
    document = value.to_json() if hasattr(value, "to_json") else value
    check_run_file(name, document)
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


@dataclass(frozen=True)
class ParityMeta:
    n: int
    input_shape: list
    output_shape: list

    def to_json(self) -> dict:
        return {"n": self.n, "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}


@dataclass(frozen=True)
class SplitMetrics:
    """PyTorch's evaluation of one split, with P(AI) per image in split.json order."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: Optional[float]
    n: int
    probabilities: list

    @classmethod
    def from_evaluation(cls, result: dict) -> "SplitMetrics":
        return cls(**{key: result[key] for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "n", "probabilities")})

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainingRecord:
    """training.json: how a run was made. Ensemble runs add module, members and pretraining."""

    seconds: float
    epochs_run: float
    best_epoch: float
    images_per_s: float
    arch: str
    params: int
    image_size: int
    args: dict
    torch_version: str
    dataset: dict
    onnx_opset: int
    onnx_bytes: int
    train_seconds: Optional[float] = None
    steps: Optional[int] = None
    module: Optional[str] = None
    ensemble_seconds: Optional[float] = None
    views: Optional[int] = None
    members: Optional[list] = None
    pretraining: Optional[list] = None
    weight_storage: Optional[dict] = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        document = {key: value for key, value in asdict(self).items() if value is not None and key != "extra"}
        document.update(self.extra)
        return document
