"""A minimal NumPy interpreter for the ONNX operators the compact CNN exports to.

onnxruntime is not available to Python here and onnx < 1.13 has no reference evaluator, so this
gives the Python side an independent numeric check of exported graphs. It supports Conv (any
stride/padding/groups=1), Relu, Add, Mul, MaxPool, GlobalAveragePool, Flatten, Gemm, Identity,
and the Constant, Cast, Gather, Concat, Reshape and ReduceMean nodes of ensembles
(training/ensemble.py), and names any other operator it meets.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _windows(x: np.ndarray, kernel: tuple[int, int], strides, pads, pad_value: float) -> np.ndarray:
    """N x C x OH x OW x KH x KW view of the padded input."""
    top, left, bottom, right = pads[0], pads[1], pads[2], pads[3]
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=pad_value)
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, :: strides[0], :: strides[1]]


def conv(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), group=1, dilations=(1, 1), **_):
    if group != 1 or tuple(dilations) != (1, 1):
        raise NotImplementedError(f"Conv with group={group}, dilations={dilations} is not supported")
    cols = _windows(x, w.shape[2:], strides, pads, 0.0)
    out = np.einsum("nchwij,ocij->nohw", cols, w, optimize=True)
    return out + b.reshape(1, -1, 1, 1) if b is not None else out


def max_pool(x, kernel_shape, strides=None, pads=(0, 0, 0, 0), **_):
    cols = _windows(x, tuple(kernel_shape), strides or kernel_shape, pads, -np.inf)
    return cols.max(axis=(-2, -1))


def gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0, **_):
    out = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return out + beta * c if c is not None else out


def reshape_target(current: tuple, shape: np.ndarray, allowzero: int) -> tuple:
    """ONNX Reshape's shape: 0 copies the input's dimension (unless allowzero), -1 is inferred."""
    target = [int(v) for v in shape]
    if not allowzero:
        target = [current[i] if v == 0 else v for i, v in enumerate(target)]
    return tuple(target)


OPERATORS = {
    "Conv": conv,
    "Relu": lambda x: np.maximum(x, 0),
    "Add": lambda a, b: a + b,
    "MaxPool": max_pool,
    "GlobalAveragePool": lambda x: x.mean(axis=(2, 3), keepdims=True),
    "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
    "Gemm": gemm,
    "Identity": lambda x: x,
    "Mul": lambda a, b: a * b,
    "Cast": lambda x, to: x,  # values are float64 inside; float16 weights are exact in it
    "Gather": lambda data, indices, axis=0: np.take(data, indices.astype(np.int64), axis=axis),
    "Constant": lambda value: numpy_helper.to_array(value).astype(np.float64),
    "Concat": lambda *parts, axis: np.concatenate(parts, axis=axis),
    "Reshape": lambda x, shape, allowzero=0: x.reshape(reshape_target(x.shape, shape, allowzero)),
    "ReduceMean": lambda x, axes, keepdims=1: x.mean(axis=tuple(axes), keepdims=bool(keepdims)),
}


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Evaluates a single-input, single-output graph on x (float64 inside, float32 out)."""
    values = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        if node.op_type not in OPERATORS:
            raise NotImplementedError(f"operator {node.op_type} ({node.name}) is not supported by numpy_onnx")
        args = [values[name] for name in node.input if name]
        values[node.output[0]] = OPERATORS[node.op_type](*args, **_attrs(node))
    return values[model.graph.output[0].name].astype(np.float32)
