"""Exports a model to ONNX, validates the graph and, where onnx ships one, checks it with the
reference evaluator. Python has no onnxruntime here; the parity bundle lets Node check it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import onnx
import torch
from torch import nn

from .architectures import NUM_CLASSES
from .constants import INPUT_NAME, ONNX_OPSET, OUTPUT_NAME
from .run_files import ParityMeta, check_run_file
from .numpy_onnx import run_onnx
from .preprocess import normalize_chw
from .progress_log import say

PARITY_COUNT = 256  # validation images in the parity bundle that Node checks with onnxruntime
PYTHON_PARITY_COUNT = 16  # of those, inputs checked by a Python ONNX evaluator (reference or NumPy); both are slow


def export_onnx(
    model: nn.Module,
    image_size: int,
    path: Path,
    opset: int = ONNX_OPSET,
    output_names: Sequence[str] = (OUTPUT_NAME,),
    class_count: Optional[int] = NUM_CLASSES,
    batch: int = 1,
) -> None:
    """The one ONNX export of every trainer: input `INPUT_NAME` [batch, 3, size, size], outputs
    `output_names` (the first is the logits), batch dimension dynamic (traced at `batch`). `class_count` is written
    into the logits' shape where the exporter lost it (None: leave the shape as exported)."""
    exportable = copy.deepcopy(model).cpu().to(memory_format=torch.contiguous_format).eval()
    dummy = torch.zeros(batch, 3, image_size, image_size, dtype=torch.float32)
    with torch.no_grad():
        torch.onnx.export(
            exportable,
            dummy,
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(output_names),
            dynamic_axes={INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in output_names}},
            opset_version=opset,
            do_constant_folding=True,
        )
    if class_count is not None:
        _declare_class_count(path, class_count)


def _declare_class_count(path: Path, class_count: int) -> None:
    """torch's exporter loses the class dimension after a Reshape (ensemble views) and writes a
    symbolic name; the contract is [batch, 2], which onnx.checker's full check then verifies."""
    model = onnx.load(str(path))
    dims = model.graph.output[0].type.tensor_type.shape.dim
    if len(dims) == 2 and not dims[1].dim_value:
        dims[1].Clear()
        dims[1].dim_value = class_count
        onnx.save(model, str(path))


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check_onnx(path: Path, image_size: int) -> dict:
    """Runs onnx.checker and verifies the input/output contract; returns a summary."""
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in model.graph.output] != [OUTPUT_NAME]:
        raise ValueError(
            f"ONNX graph has inputs {[i.name for i in inputs]} and outputs "
            f"{[o.name for o in model.graph.output]}; expected [{INPUT_NAME!r}] and [{OUTPUT_NAME!r}]"
        )
    input_dims, output_dims = _dims(inputs[0]), _dims(model.graph.output[0])
    if input_dims[1:] != [3, image_size, image_size] or output_dims[1:] != [2] or isinstance(input_dims[0], int):
        raise ValueError(f"ONNX shapes are input {input_dims} and output {output_dims}; " f"expected [batch, 3, {image_size}, {image_size}] and [batch, 2]")
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return {"input_shape": input_dims, "output_shape": output_dims, "opset": opset, "bytes": Path(path).stat().st_size}


def reference_parity(path: Path, inputs: np.ndarray, expected: np.ndarray) -> dict | None:
    """Max |difference| between onnx.reference and PyTorch logits (raises above PARITY_LIMIT);
    None without onnx.reference."""
    try:
        from onnx.reference import ReferenceEvaluator  # onnx >= 1.13
    except ImportError:
        return None
    session = ReferenceEvaluator(str(path))
    (logits,) = session.run(None, {INPUT_NAME: inputs.astype(np.float32)})
    return _parity_result(logits, expected, "onnx.reference")


PARITY_LIMIT = 1e-3


def _parity_result(logits: np.ndarray, expected: np.ndarray, evaluator: str) -> dict:
    diff = float(np.abs(logits - expected).max())
    if diff > PARITY_LIMIT:
        raise ValueError(f"exported ONNX differs from PyTorch by {diff:.2e} on {len(logits)} inputs " f"({evaluator}); the limit is {PARITY_LIMIT}")
    return {"n": int(len(logits)), "max_abs_diff": diff, "evaluator": evaluator}


def write_parity_bundle(folder: Path, inputs: np.ndarray, logits: np.ndarray) -> dict:
    """parity/inputs.f32, parity/logits.f32 (raw little-endian float32) and parity/meta.json."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs.astype("<f4").tofile(folder / "inputs.f32")
    logits.astype("<f4").tofile(folder / "logits.f32")
    meta = ParityMeta(n=int(len(inputs)), input_shape=[int(d) for d in inputs.shape], output_shape=[int(d) for d in logits.shape])
    check_run_file("parity/meta.json", meta.to_json())
    (folder / "meta.json").write_text(json.dumps(meta.to_json(), indent=2) + "\n")
    return meta.to_json()


@torch.no_grad()
def torch_logits(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(inputs)).float().numpy()


def numpy_parity(onnx_path: Path, inputs: np.ndarray, expected: np.ndarray) -> Optional[dict]:
    """Max |difference| between the NumPy interpreter and PyTorch; None for graphs it cannot run.

    Raises above PARITY_LIMIT, so a broken export never ships."""
    try:
        logits = run_onnx(onnx.load(str(onnx_path)), inputs)
    except NotImplementedError:
        return None
    return _parity_result(logits, expected, "numpy_onnx")


def check_parity(model: nn.Module, onnx_path: Path, val_pixels: np.ndarray, folder: Path) -> tuple[dict, Optional[dict]]:
    """Writes the parity bundle of the first PARITY_COUNT validation images and checks the exported
    graph against PyTorch with a Python evaluator; returns (bundle meta, Python parity or None)."""
    inputs = normalize_chw(val_pixels[:PARITY_COUNT])
    logits = torch_logits(model, inputs)
    meta = write_parity_bundle(folder, inputs, logits)
    few_inputs, few_logits = inputs[:PYTHON_PARITY_COUNT], logits[:PYTHON_PARITY_COUNT]
    reference = reference_parity(onnx_path, few_inputs, few_logits)
    if reference is None:
        say("onnx.reference is unavailable in this onnx version; using the NumPy interpreter instead")
        reference = numpy_parity(onnx_path, few_inputs, few_logits)
    return meta, reference
