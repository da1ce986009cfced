"""Learning-rate schedule: linear warmup then cosine decay, as a pure multiplier of the base rate."""

from __future__ import annotations

import math


def lr_factor(step: int, total_steps: int, warmup_steps: int, final_factor: float = 0.01) -> float:
    if total_steps <= 0:
        raise ValueError(f"total_steps is {total_steps}; it must be positive")
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return final_factor + (1 - final_factor) * 0.5 * (1 + math.cos(math.pi * progress))
