"""Command line: train a detector on a dataset folder and write a complete run folder.

    python3 -m training.train --dataset data/cifake --out runs/cifake [--arch compact] ...

stdout carries only JSON lines (see progress_log.py); human-readable notes go to stderr.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
import random
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .architectures import ARCHITECTURE_NAMES, ARCHITECTURES, build_model, count_parameters, load_matching_weights
from .augment import AugmentConfig, augment_config
from .checkpoint_io import read_checkpoint, save_checkpoint
from .cli_config import as_record, from_namespace
from .run_files import SplitMetrics, TrainingRecord, write_run_file
from .constants import DEFAULT_IMAGE_SIZE_COMPACT, DEFAULT_IMAGE_SIZE_OTHER, ONNX_OPSET
from .dataset_files import build_splits, read_dataset_info
from .device import DEVICE_CHOICES, MAX_CUDA_WORKERS, avoid_onednn_for_small_convolutions, default_workers, resolve_device
from .evaluation import evaluate
from .image_cache import decode_split
from .metadata import build_metadata, utc_now_iso
from .onnx_export import check_onnx, check_parity, export_onnx
from .progress_log import ProgressLog, run_logged, say
from .training_loop import LoopConfig, plan_steps, train_model

DEFAULT_IMAGE_SIZE = {"compact": DEFAULT_IMAGE_SIZE_COMPACT}


class ArgumentParser(argparse.ArgumentParser):
    """Reports bad arguments as an error line on stdout too, so callers parsing JSON see why."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        ProgressLog().emit("error", message=message)
        raise SystemExit(2)


@dataclass(frozen=True)
class TrainConfig:
    """What one training run is asked to do; built once by parse_args."""

    dataset: Path
    out: Path
    name: Optional[str]
    arch: str
    image_size: int
    width: int
    depth: int
    stages: int
    stem_stride: Optional[int]
    dropout: float
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_epochs: float
    label_smoothing: float
    patience: int
    select_metric: str
    max_steps: Optional[int]
    val_fraction: float
    seed: int
    threads: int
    device: str
    no_amp: bool
    workers: int
    no_augment: bool
    augment: str
    jpeg_prob: float
    init_from: Optional[Path]
    pretrained_weights: Optional[Path]
    device_used: torch.device


def parse_args(argv: Optional[Sequence[str]] = None) -> TrainConfig:
    p = ArgumentParser(prog="python3 -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, type=Path, help="dataset folder with dataset.json and train/")
    p.add_argument("--out", required=True, type=Path, help="run folder to write (created if missing)")
    p.add_argument("--name", help="model name for metadata.json (default: the dataset name)")
    p.add_argument("--arch", default="compact", choices=ARCHITECTURES)
    p.add_argument("--image-size", type=int, help="input side in pixels (default: 32 for compact, 224 otherwise)")
    p.add_argument("--width", type=int, default=32, help="compact: channels of the first stage")
    p.add_argument("--depth", type=int, default=1, help="compact: residual blocks per stage")
    p.add_argument("--stages", type=int, default=4, help="compact: number of stages (each doubles width)")
    p.add_argument("--stem-stride", type=int, choices=(1, 2, 4), help="compact: stem downsampling (default by size)")
    p.add_argument("--dropout", type=float, default=0.1, help="compact: dropout before the classifier")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-epochs", type=float, default=0.5)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--patience", type=int, default=5, help="epochs without improvement before stopping")
    p.add_argument("--select-metric", choices=("accuracy", "roc_auc"), default="accuracy")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (tiny CI runs)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="hash-carved share when there is no val/")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto: CUDA when torch sees a GPU, else the CPU; cuda without one is an error")
    p.add_argument("--no-amp", action="store_true", help="on CUDA, train in float32 instead of float16 autocast")
    p.add_argument("--workers", type=int, help=f"DataLoader worker processes (default: 0 on the CPU, one per core up to {MAX_CUDA_WORKERS} on CUDA)")
    p.add_argument("--no-augment", action="store_true", help="train without augmentation")
    p.add_argument(
        "--augment",
        choices=("full", "light"),
        default="full",
        help="full: crops, flips, colour jitter, rescaling, JPEG; light: flips and JPEG only "
        "(for tiny inputs, where crops and rescaling wipe out the pixel-level cues)",
    )
    p.add_argument("--jpeg-prob", type=float, default=AugmentConfig.jpeg_prob)
    p.add_argument("--init-from", type=Path, help="checkpoint.pt whose matching weights start training")
    p.add_argument("--pretrained-weights", type=Path, help="local ImageNet state dict for torchvision architectures (never downloaded)")
    args = p.parse_args(argv)
    if args.image_size is None:
        args.image_size = DEFAULT_IMAGE_SIZE.get(args.arch, DEFAULT_IMAGE_SIZE_OTHER)
    problems = [
        f"--{name} is {getattr(args, name.replace('-', '_'))}; it must be positive"
        for name in ("image-size", "epochs", "batch-size", "threads", "width", "depth", "stages")
        if getattr(args, name.replace("-", "_")) <= 0
    ]
    if not 0.0 <= args.jpeg_prob <= 1.0:
        problems.append(f"--jpeg-prob is {args.jpeg_prob}; it must be in [0, 1]")
    if args.max_steps is not None and args.max_steps <= 0:
        problems.append(f"--max-steps is {args.max_steps}; it must be positive")
    if args.lr <= 0:
        problems.append(f"--lr is {args.lr}; it must be positive")
    if args.workers is not None and args.workers < 0:
        problems.append(f"--workers is {args.workers}; it must be 0 or more")
    device_used = None
    try:
        device_used = resolve_device(args.device)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        p.error("; ".join(problems))
    if args.workers is None:
        args.workers = default_workers(device_used)
    return from_namespace(TrainConfig, args, device_used=device_used)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def model_config(args: TrainConfig) -> dict:
    return {
        "arch": args.arch,
        "image_size": args.image_size,
        "width": args.width,
        "depth": args.depth,
        "stages": args.stages,
        "stem_stride": args.stem_stride,
        "dropout": args.dropout,
        "pretrained_path": str(args.pretrained_weights) if args.pretrained_weights else None,
    }


def args_record(args: TrainConfig) -> dict:
    """The command-line arguments, as training.json records them (the resolved device is not one)."""
    return as_record(args, leave_out=("device_used",))


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def run(args: TrainConfig, log: ProgressLog) -> dict:
    started = time.time()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    out: Path = args.out
    dataset_info = read_dataset_info(args.dataset)

    say(f"listing and hashing {args.dataset}")
    splits = build_splits(args.dataset, args.val_fraction)
    write_run_file(out, "split.json", {name: [item.to_json() for item in items] for name, items in splits.items()})
    say(f"decoding {sum(len(v) for v in splits.values())} images at {args.image_size}px")
    decoded = {
        name: decode_split(args.dataset, items, args.image_size, lambda done, total, name=name: say(f"  {name}: {done}/{total}"))
        for name, items in splits.items()
    }

    config = model_config(args)
    model = build_model(**{**config, "pretrained_path": args.pretrained_weights})
    if args.init_from is not None:
        copied, skipped = load_matching_weights(model, read_checkpoint(args.init_from)["state_dict"])
        if copied == 0:
            raise ValueError(f"--init-from {args.init_from} shares no weights with a {args.arch} model")
        say(f"initialised {copied} tensors from {args.init_from} ({skipped} skipped)")
    if avoid_onednn_for_small_convolutions(model, args.device_used):
        say("a convolution has fewer than 8 channels: training without oneDNN (it corrupts memory there)")
    model = model.to(memory_format=torch.channels_last)
    parameters = count_parameters(model)
    device: torch.device = args.device_used
    amp = device.type == "cuda" and not args.no_amp
    if device.type != "cpu":
        model = model.to(device)

    loop_cfg = LoopConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        patience=args.patience,
        max_steps=args.max_steps,
        seed=args.seed,
        workers=args.workers,
        select_metric=args.select_metric,
        device=device.type,
        amp=amp,
    )
    augment_cfg = None if args.no_augment else augment_config(args.augment, args.jpeg_prob)
    _, total_steps = plan_steps(len(splits["train"]), args.batch_size, args.epochs, args.max_steps)
    log.emit(
        "start",
        total_steps=total_steps,
        epochs=args.epochs,
        train_images=len(splits["train"]),
        val_images=len(splits["val"]),
        test_images=len(splits["test"]),
        arch=args.arch,
        params=parameters,
        image_size=args.image_size,
        batch_size=args.batch_size,
        dataset=dataset_info,
        seed=args.seed,
        device=device.type,
        amp=amp,
        workers=args.workers,
    )

    result = train_model(model, decoded["train"], decoded["val"], loop_cfg, augment_cfg, log)
    # Evaluation, the checkpoint and the ONNX export happen on the CPU, as serving does.
    if device.type != "cpu":
        model = model.to("cpu")
    model.load_state_dict(result.best_state)
    model.eval()

    torch_eval = {name: SplitMetrics.from_evaluation(evaluate(model, *decoded[name])) for name in ("val", "test") if splits[name]}
    write_run_file(out, "torch_eval.json", {name: metrics.to_json() for name, metrics in torch_eval.items()})
    save_checkpoint(
        out / "checkpoint.pt",
        model,
        config,
        {
            "best_epoch": result.best_epoch,
            "best_val": result.best_val,
            "dataset": dataset_info,
            "dataset_path": str(args.dataset.resolve()),
            "torch_version": torch.__version__,
        },
    )

    onnx_path = out / "model.onnx"
    export_onnx(model, args.image_size, onnx_path)
    onnx_summary = check_onnx(onnx_path, args.image_size)
    parity_meta, reference = check_parity(model, onnx_path, decoded["val"][0], out / "parity")
    log.emit(
        "export",
        path=str(onnx_path),
        bytes=onnx_summary["bytes"],
        opset=onnx_summary["opset"],
        input_shape=onnx_summary["input_shape"],
        output_shape=onnx_summary["output_shape"],
        parity=parity_meta,
        reference_parity=reference,
    )

    framework = f"pytorch {torch.__version__}"
    write_run_file(
        out,
        "metadata.json",
        build_metadata(
            name=args.name or dataset_info["name"],
            architecture=ARCHITECTURE_NAMES[args.arch],
            parameters=parameters,
            image_size=args.image_size,
            dataset=dataset_info,
            framework=framework,
            opset=onnx_summary["opset"],
            epochs=result.epochs_run,
            seed=args.seed,
            created_at=utc_now_iso(),
        ),
    )
    seconds = round(time.time() - started, 2)
    write_run_file(
        out,
        "training.json",
        TrainingRecord(
            seconds=seconds,
            train_seconds=result.seconds,
            epochs_run=result.epochs_run,
            steps=result.steps,
            best_epoch=result.best_epoch,
            images_per_s=result.images_per_s,
            arch=ARCHITECTURE_NAMES[args.arch],
            params=parameters,
            image_size=args.image_size,
            args=args_record(args),
            torch_version=torch.__version__,
            dataset=dataset_info,
            onnx_opset=ONNX_OPSET,
            onnx_bytes=onnx_summary["bytes"],
        ),
    )
    return log.emit("done", best_epoch=result.best_epoch, best_val=result.best_val, epochs_run=result.epochs_run, seconds=seconds)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    return run_logged(args.out, "train_log.jsonl", lambda log: run(args, log))


if __name__ == "__main__":
    sys.exit(main())
