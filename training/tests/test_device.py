"""--device: the CPU path trains exactly as the plain float32 loop does (bit for bit, for a fixed
seed); auto picks CUDA only when torch sees a GPU; the CUDA path (float16 autocast, pinned memory,
worker processes) runs where there is a GPU and is skipped, saying why, elsewhere."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from training import train
from training.architectures import build_model
from training.augment import augment_config
from training.batches import AugmentedImages, normalize_batch
from training.device import default_workers, resolve_device
from training.progress_log import ProgressLog
from training.schedule import lr_factor
from training.tests.conftest import tiny_argv, write_dataset
from training.training_loop import LoopConfig, plan_steps, train_model

CUDA = torch.cuda.is_available()
NO_CUDA_REASON = "torch.cuda.is_available() is False here (no GPU or a CPU-only torch build): the CUDA path is not exercised"


def tiny_data(n: int = 48, size: int = 16, seed: int = 3):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = (np.arange(n) % 2).astype(np.int64)
    pixels[labels == 0] //= 3  # darker REAL images: something to learn
    return pixels, labels


def fresh_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(arch="compact", image_size=16, width=8, depth=1, stages=2, stem_stride=1, dropout=0.1).to(memory_format=torch.channels_last)


def plain_loop(model: nn.Module, pixels, labels, cfg: LoopConfig, augment_cfg) -> None:
    """The optimisation steps as written before --device existed: float32 on the CPU, nothing moved."""
    dataset = AugmentedImages(pixels, labels, augment_cfg)
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=len(dataset) >= cfg.batch_size,
        num_workers=0,
    )
    steps_per_epoch, total_steps = plan_steps(len(dataset), cfg.batch_size, cfg.epochs, cfg.max_steps)
    warmup = min(total_steps // 2, round(cfg.warmup_epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total_steps, warmup))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    model.train()
    step = 0
    for images, batch_labels in loader:
        loss = loss_fn(model(normalize_batch(images)), batch_labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        if step >= total_steps:
            break


def test_cpu_training_is_bit_for_bit_the_plain_loop():
    torch.set_num_threads(1)
    pixels, labels = tiny_data()
    cfg = LoopConfig(epochs=1, batch_size=8, max_steps=5, seed=11, label_smoothing=0.05, device="cpu", amp=False)
    augment = augment_config("full", 0.5)

    reference = fresh_model(7)
    torch.manual_seed(99)
    plain_loop(reference, pixels, labels, cfg, augment)

    model = fresh_model(7)
    torch.manual_seed(99)
    result = train_model(model, (pixels, labels), (pixels[:8], labels[:8]), cfg, augment, ProgressLog(stream=open("/dev/null", "w")))
    assert result.steps == 5
    ours, theirs = model.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    different = [name for name in ours if not torch.equal(ours[name], theirs[name])]
    assert different == []


def test_auto_picks_cuda_only_when_there_is_a_gpu():
    assert resolve_device("auto", cuda_available=False) == torch.device("cpu")
    assert resolve_device("auto", cuda_available=True) == torch.device("cuda")
    assert resolve_device("cpu", cuda_available=True) == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda", cuda_available=False)


def test_workers_stay_zero_on_the_cpu_and_follow_the_cores_on_cuda():
    assert default_workers(torch.device("cpu"), cpu_count=16) == 0
    assert default_workers(torch.device("cuda"), cpu_count=4) == 4
    assert default_workers(torch.device("cuda"), cpu_count=64) == 8


def test_amp_on_the_cpu_is_refused():
    pixels, labels = tiny_data(16)
    with pytest.raises(ValueError, match="CUDA only"):
        train_model(
            fresh_model(1),
            (pixels, labels),
            (pixels, labels),
            LoopConfig(max_steps=1, batch_size=8, amp=True),
            None,
            ProgressLog(stream=open("/dev/null", "w")),
        )


@pytest.mark.skipif(CUDA, reason="this machine has CUDA; the refusal is for machines without it")
def test_cli_refuses_cuda_without_a_gpu(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "d", per_class=4)
    with pytest.raises(SystemExit):
        train.parse_args(["--dataset", str(dataset), "--out", str(tmp_path / "o"), "--device", "cuda"])
    assert "no CUDA device" in capsys.readouterr().out


@pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)
def test_cuda_run_with_mixed_precision_writes_a_cpu_model(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "d", per_class=20, size=(40, 36))
    out = tmp_path / "run"
    assert train.main(tiny_argv(dataset, out, max_steps=3, device="cuda", workers=2)) == 0
    events = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert '"device":"cuda"' in events[0] and '"amp":true' in events[0]
    state = torch.load(out / "checkpoint.pt", map_location="cpu")["state_dict"]
    assert all(tensor.device.type == "cpu" and torch.isfinite(tensor.float()).all() for tensor in state.values())
    assert (out / "model.onnx").stat().st_size > 0
