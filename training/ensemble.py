"""Combines finished training runs into one model: the mean of the members' logits, optionally
also over the horizontally mirrored image (--flip) and over the image moved by a pixel or more
left, right, up and down (--shift), exported as a single ONNX graph.

    python3 -m training.ensemble --members runs/a runs/b runs/c --out runs/ensemble [--flip] [--shift 1]

Members must come from the same dataset with identical train/val/test splits, so that no member
has trained on an image the ensemble is validated on. Batch norm is folded into each convolution
and every weight is rounded to what the ONNX file stores (float16, or int8 levels with a float32
scale per output channel: --weights) before evaluation and export; the graph turns them back into
exactly those float32 values, so PyTorch and the served graph compute the same numbers. The output folder has everything training.train writes,
so `npm run pipeline -- --from-run <out>` evaluates, gates and publishes it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from .architectures import count_parameters
from .checkpoint_io import load_model, save_checkpoint
from .cli_config import from_namespace
from .ensemble_model import Ensemble, fold_batch_norm
from .constants import ONNX_OPSET
from .run_files import SplitMetrics, TrainingRecord, write_run_file
from .evaluation import evaluate
from .image_cache import decode_split
from .dataset_files import Item
from .metadata import build_metadata, utc_now_iso
from .onnx_export import check_onnx, check_parity, export_onnx
from .progress_log import ProgressLog, run_logged, say

FLOAT16_MIN_ELEMENTS = 16  # smaller tensors (scalars, tiny biases) stay float32: no bytes to save


WEIGHT_FORMATS = ("float16", "int8")
INT8_LEVELS = 127  # symmetric: -127..127, one scale per output channel


def int8_scales(weight: torch.Tensor) -> torch.Tensor:
    """One float32 scale per output channel (dimension 0), shaped to broadcast over the weight."""
    amax = weight.detach().abs().reshape(weight.shape[0], -1).amax(dim=1)
    scale = torch.where(amax > 0, amax / INT8_LEVELS, torch.ones_like(amax))
    return scale.reshape(-1, *([1] * (weight.dim() - 1)))


def round_weights(model: nn.Module, weights: str) -> nn.Module:
    """Rounds the parameters to what the ONNX file will store, keeping them float32.

    float16: every parameter to the nearest float16 value. int8: every convolution and linear
    weight to int8 levels times a per-output-channel float32 scale; biases stay float32."""
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights {weights!r} is not one of {', '.join(WEIGHT_FORMATS)}")
    with torch.no_grad():
        for parameter in model.parameters():
            if weights == "float16":
                parameter.copy_(parameter.half().float())
            elif parameter.dim() >= 2:
                scale = int8_scales(parameter)
                parameter.copy_(torch.round(parameter / scale).clamp(-INT8_LEVELS, INT8_LEVELS) * scale)
    return model


def _as_int8(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(int8 levels, float32 per-row scales) that reproduce array exactly in float32, or None.

    The scales are recomputed from the rounded weights; a recomputed scale can land one float32
    step away from the one that made them, so the neighbours are tried too."""
    rows = array.reshape(array.shape[0], -1)
    amax = np.abs(rows).max(axis=1)
    base = np.where(amax > 0, amax / np.float32(INT8_LEVELS), np.float32(1)).astype(np.float32)
    chosen = np.full_like(base, np.nan)
    for candidate in (base, np.nextafter(base, np.float32(np.inf)), np.nextafter(base, np.float32(0))):
        levels = np.round(rows / candidate[:, None])
        exact = (np.abs(levels) <= INT8_LEVELS).all(axis=1) & ((levels.astype(np.float32) * candidate[:, None]).astype(np.float32) == rows).all(axis=1)
        chosen = np.where(np.isnan(chosen) & exact, candidate, chosen)
    if np.isnan(chosen).any():
        return None
    levels = np.round(rows / chosen[:, None]).astype(np.int8).reshape(array.shape)
    return levels, chosen.reshape(-1, *([1] * (array.ndim - 1)))


def store_weights(path: Path, weights: str, min_elements: int = FLOAT16_MIN_ELEMENTS) -> dict:
    """Rewrites the float32 initializers of an exported graph that round_weights produced into
    smaller ones the graph turns back into the same float32 values: float16 plus a Cast, or int8
    levels plus a Cast and a Mul by per-channel scales. A tensor the format cannot reproduce
    exactly stays float32; onnxruntime folds the conversions into constants when it loads."""
    model = onnx.load(str(path))
    graph = model.graph
    prefix, kept, counts = [], [], {"float16": 0, "int8": 0, "float32": 0}
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        if tensor.data_type != TensorProto.FLOAT or array.size < min_elements:
            kept.append(tensor)
            counts["float32"] += 1
            continue
        int8 = _as_int8(array) if weights == "int8" and array.ndim >= 2 else None
        half = array.astype(np.float16)
        if int8 is not None:
            levels, scales = int8
            stored = numpy_helper.from_array(levels, f"{tensor.name}__int8")
            scale = numpy_helper.from_array(scales, f"{tensor.name}__scale")
            kept += [stored, scale]
            prefix += [
                helper.make_node("Cast", [stored.name], [f"{tensor.name}__levels"], to=TensorProto.FLOAT, name=f"{tensor.name}__to_float32"),
                helper.make_node("Mul", [f"{tensor.name}__levels", scale.name], [tensor.name], name=f"{tensor.name}__dequantize"),
            ]
            counts["int8"] += 1
        elif np.array_equal(half.astype(np.float32), array):
            stored = numpy_helper.from_array(half, f"{tensor.name}__float16")
            kept.append(stored)
            prefix.append(helper.make_node("Cast", [stored.name], [tensor.name], to=TensorProto.FLOAT, name=f"{tensor.name}__to_float32"))
            counts["float16"] += 1
        else:
            kept.append(tensor)
            counts["float32"] += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(prefix + nodes)
    onnx.save(model, str(path))
    return {f"{name}_tensors": count for name, count in counts.items()}


def split_signature(split: dict) -> dict:
    return {name: [entry["sha256"] for entry in split.get(name, [])] for name in ("train", "val", "test")}


def load_member(run_dir: Path) -> tuple[nn.Module, dict, dict, dict]:
    """(model in eval mode, checkpoint, training.json, split.json) of a finished run."""
    for required in ("checkpoint.pt", "split.json", "training.json"):
        if not (run_dir / required).is_file():
            raise FileNotFoundError(f"member {run_dir} has no {required}; is it a finished training run?")
    model, checkpoint = load_model(run_dir / "checkpoint.pt")
    return (model, checkpoint, json.loads((run_dir / "training.json").read_text()), json.loads((run_dir / "split.json").read_text()))


def combine(run_dirs: Sequence[Path], weights: str = "float16") -> tuple[list[nn.Module], dict]:
    """Loads and checks the members; returns them folded and rounded to `weights`, and a summary."""
    if len(run_dirs) < 2:
        raise ValueError(f"--members lists {len(run_dirs)} run; an ensemble needs at least 2")
    loaded = [load_member(Path(run_dir)) for run_dir in run_dirs]
    first_split = split_signature(loaded[0][3])
    sizes = {checkpoint["model_config"]["image_size"] for _, checkpoint, _, _ in loaded}
    if len(sizes) != 1:
        raise ValueError(f"members take different input sizes {sorted(sizes)}; they must all take one")
    for run_dir, (_, checkpoint, _, split) in zip(run_dirs, loaded):
        if checkpoint["model_config"]["arch"] != "compact":
            raise ValueError(f"member {run_dir} is a {checkpoint['model_config']['arch']} model; " "only compact members are supported")
        if split_signature(split) != first_split:
            raise ValueError(
                f"member {run_dir} was trained on a different train/val/test split than " f"{run_dirs[0]}; members must share one split, or validation leaks"
            )
    datasets = {json.dumps(checkpoint.get("dataset"), sort_keys=True) for _, checkpoint, _, _ in loaded}
    if len(datasets) != 1:
        raise ValueError(f"members come from different datasets: {sorted(datasets)}")
    members = [round_weights(fold_batch_norm(model), weights) for model, _, _, _ in loaded]
    summary = {
        "image_size": sizes.pop(),
        "member_configs": [checkpoint["model_config"] for _, checkpoint, _, _ in loaded],
        "checkpoints": [checkpoint for _, checkpoint, _, _ in loaded],
        "trainings": [training for _, _, training, _ in loaded],
        "split": loaded[0][3],
    }
    return members, summary


@dataclass(frozen=True)
class EnsembleConfig:
    """What one ensemble is made of; built once by parse_args."""

    members: tuple[Path, ...]
    out: Path
    name: Optional[str]
    flip: bool
    shift: int
    weights: str
    dataset: Optional[Path]
    threads: int


def parse_args(argv: Optional[Sequence[str]] = None) -> EnsembleConfig:
    p = argparse.ArgumentParser(prog="python3 -m training.ensemble", description=__doc__.split("\n")[0])
    p.add_argument("--members", required=True, nargs="+", type=Path, help="finished run folders of training.train")
    p.add_argument("--out", required=True, type=Path, help="run folder to write (created if missing)")
    p.add_argument("--name", help="model name for metadata.json (default: the dataset name)")
    p.add_argument("--flip", action="store_true", help="also average over the horizontally mirrored input")
    p.add_argument(
        "--shift",
        type=int,
        default=0,
        metavar="PIXELS",
        help="also average over each view moved by PIXELS left, right, up and down, edges " "mirrored (default 0: no shifted views)",
    )
    p.add_argument(
        "--weights",
        choices=WEIGHT_FORMATS,
        default="float16",
        help="how model.onnx stores the weights: float16 (half the bytes, no measurable change) "
        "or int8 with a scale per output channel (a quarter; evaluated as rounded)",
    )
    p.add_argument("--dataset", type=Path, help="dataset folder (default: the one recorded in the first member)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return from_namespace(EnsembleConfig, p.parse_args(argv))


def member_record(run_dir: Path, training: dict, checkpoint: dict) -> dict:
    best = checkpoint.get("best_val") or {}
    return {
        "run": str(run_dir),
        "arch": training.get("arch"),
        "params": training.get("params"),
        "epochs_run": training.get("epochs_run"),
        "best_epoch": training.get("best_epoch"),
        "seconds": training.get("seconds"),
        "images_per_s": training.get("images_per_s"),
        "val_accuracy": best.get("accuracy"),
        "val_roc_auc": best.get("roc_auc"),
    }


def pretraining_runs(trainings: Sequence[dict]) -> list[dict]:
    """Every run that a member continues from (--init-from, followed back through its own
    --init-from), each counted once however many members share it: their time is part of the
    ensemble's training time. A run folder that is gone is listed with unknown seconds."""
    found: dict[str, dict] = {}
    pending = [t.get("args", {}).get("init_from") for t in trainings]
    while pending:
        source = pending.pop(0)
        if not source:
            continue
        run_dir = Path(source).parent if Path(source).suffix == ".pt" else Path(source)
        key = str(run_dir.resolve())
        if key in found:
            continue
        record_path = run_dir / "training.json"
        training = json.loads(record_path.read_text()) if record_path.is_file() else {}
        found[key] = {"run": str(run_dir), "seconds": training.get("seconds"), "epochs_run": training.get("epochs_run")}
        pending.append(training.get("args", {}).get("init_from"))
    return list(found.values())


def run(args: EnsembleConfig, log: ProgressLog) -> dict:
    started = time.time()
    torch.set_num_threads(args.threads)
    out: Path = args.out
    members, summary = combine(args.members, args.weights)
    image_size = summary["image_size"]
    model = Ensemble(members, image_size, args.flip, args.shift).eval()
    first = summary["checkpoints"][0]
    dataset_info = first.get("dataset") or {}
    dataset_root = Path(args.dataset or summary["trainings"][0].get("args", {}).get("dataset") or first.get("dataset_path") or "")
    if not (dataset_root / "dataset.json").is_file():
        raise FileNotFoundError(f"dataset folder {dataset_root} not found; pass --dataset")
    split = summary["split"]
    write_run_file(out, "split.json", split)
    parameters = count_parameters(model)
    log.emit(
        "start",
        members=[str(m) for m in args.members],
        flip=args.flip,
        shift=args.shift,
        views=model.view_count,
        params=parameters,
        image_size=image_size,
        dataset=dataset_info,
    )

    decoded = {}
    for name in ("val", "test"):
        items = [Item(**entry) for entry in split.get(name, [])]
        if items:
            say(f"decoding {len(items)} {name} images at {image_size}px")
            decoded[name] = decode_split(dataset_root, items, image_size)
    torch_eval = {}
    for name, (pixels, labels) in decoded.items():
        torch_eval[name] = SplitMetrics.from_evaluation(evaluate(model, pixels, labels))
        log.emit("evaluate", split=name, accuracy=torch_eval[name].accuracy, roc_auc=torch_eval[name].roc_auc)
    write_run_file(out, "torch_eval.json", {name: metrics.to_json() for name, metrics in torch_eval.items()})

    model_config = {
        "arch": "ensemble",
        "image_size": image_size,
        "flip": args.flip,
        "shift": args.shift,
        "members": summary["member_configs"],
        "weights": args.weights,
    }
    val_metrics = {k: v for k, v in torch_eval["val"].to_json().items() if k != "probabilities"}
    save_checkpoint(
        out / "checkpoint.pt",
        model,
        model_config,
        {
            "best_epoch": 0,
            "best_val": val_metrics,
            "dataset": dataset_info,
            "dataset_path": str(dataset_root.resolve()),
            "torch_version": torch.__version__,
            "members": [str(m) for m in args.members],
        },
    )

    onnx_path = out / "model.onnx"
    export_onnx(model, image_size, onnx_path)
    storage = store_weights(onnx_path, args.weights)
    onnx_summary = check_onnx(onnx_path, image_size)
    parity_meta, reference = check_parity(model, onnx_path, decoded["val"][0], out / "parity")
    log.emit(
        "export", path=str(onnx_path), bytes=onnx_summary["bytes"], opset=onnx_summary["opset"], storage=storage, parity=parity_meta, reference_parity=reference
    )

    trainings = summary["trainings"]
    member_archs = sorted({t.get("arch", "?") for t in trainings})
    architecture = (
        f"ensemble of {len(members)} {'/'.join(member_archs)}"
        + (", mirror-averaged" if args.flip else "")
        + (f", averaged over {args.shift}-pixel shifts" if args.shift else "")
    )
    epochs = sum(int(t.get("epochs_run", 0)) for t in trainings)
    write_run_file(
        out,
        "metadata.json",
        build_metadata(
            name=args.name or dataset_info.get("name", "model"),
            architecture=architecture,
            parameters=parameters,
            image_size=image_size,
            dataset=dataset_info,
            framework=f"pytorch {torch.__version__}",
            opset=onnx_summary["opset"],
            epochs=epochs,
            seed=int(trainings[0].get("args", {}).get("seed", 0)),
            created_at=utc_now_iso(),
        ),
    )
    pretraining = pretraining_runs(trainings)
    earlier_seconds = sum(float(t.get("seconds", 0)) for t in trainings)
    earlier_seconds += sum(float(r["seconds"] or 0) for r in pretraining)
    train_seconds = sum(float(t.get("train_seconds", 0)) for t in trainings)
    images = sum(float(t.get("images_per_s", 0)) * float(t.get("train_seconds", 0)) for t in trainings)
    seconds = round(time.time() - started, 2)
    write_run_file(
        out,
        "training.json",
        TrainingRecord(
            module="training.ensemble",
            seconds=round(earlier_seconds + seconds, 2),
            train_seconds=round(train_seconds, 2),
            ensemble_seconds=seconds,
            epochs_run=epochs,
            best_epoch=max(int(t.get("best_epoch", 0)) for t in trainings),
            images_per_s=round(images / max(train_seconds, 1e-9), 1),
            arch=architecture,
            params=parameters,
            image_size=image_size,
            views=model.view_count,
            args={
                "members": [str(m) for m in args.members],
                "out": str(out),
                "name": args.name,
                "flip": args.flip,
                "shift": args.shift,
                "weights": args.weights,
                "dataset": str(dataset_root),
                "threads": args.threads,
            },
            members=[member_record(run_dir, t, c) for run_dir, t, c in zip(args.members, trainings, summary["checkpoints"])],
            pretraining=pretraining,
            torch_version=torch.__version__,
            dataset=dataset_info,
            onnx_opset=ONNX_OPSET,
            onnx_bytes=onnx_summary["bytes"],
            weight_storage=storage,
        ),
    )
    return log.emit("done", val=val_metrics, onnx_bytes=onnx_summary["bytes"], seconds=seconds)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    return run_logged(args.out, "ensemble_log.jsonl", lambda log: run(args, log))


if __name__ == "__main__":
    sys.exit(main())
