"""The operating point: thresholds that decide at a stated error rate (mirrors
pipeline/src/operating-point.ts, which sets the published model's from its validation scores; the
two are checked against one table of cases, functions/test/fixtures/operating-point-cases.json,
written by training/operating_point_cases.py).

- `ai_threshold`: the lowest threshold at which at most `target_fpr` of the real photos score at
  or above it (are called AI).
- `real_threshold`: the highest threshold at which at most `target_fnr` of the fakes score below it
  (are called real); never above `ai_threshold`.
Between the two the answer is `uncertain`. Rates carry a 95 % Wilson interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STEP = 1e-4  # thresholds are stored with four decimals: rounded away from the side they protect


@dataclass(frozen=True)
class OperatingPoint:
    ai_threshold: float
    real_threshold: float


def grid_above(score: float) -> float:
    """The lowest four-decimal value strictly above `score` (score / STEP is inexact: 0.6 / 1e-4 is
    5999.999…, so the index is corrected against the rounded value itself)."""
    k = math.floor(score / STEP) + 1
    while k > 0 and round((k - 1) * STEP, 4) > score:
        k -= 1
    while round(k * STEP, 4) <= score:
        k += 1
    return round(k * STEP, 4)


def grid_at_or_below(score: float) -> float:
    """The highest four-decimal value at or below `score`."""
    k = math.floor(score / STEP)
    while k > 0 and round(k * STEP, 4) > score:
        k -= 1
    while round((k + 1) * STEP, 4) <= score:
        k += 1
    return round(k * STEP, 4)


def ai_threshold(real_probs: np.ndarray, target_fpr: float) -> float:
    p = np.sort(np.asarray(real_probs, dtype=np.float64))[::-1]
    allowed = int(math.floor(target_fpr * len(p) + 1e-9))
    if len(p) == 0:
        return 0.5
    if allowed >= len(p):
        return STEP
    # Strictly above the (allowed+1)-th highest real score: at most `allowed` reals reach it.
    return min(1.0, grid_above(float(p[allowed])))


def real_threshold(fake_probs: np.ndarray, target_fnr: float) -> float:
    p = np.sort(np.asarray(fake_probs, dtype=np.float64))
    allowed = int(math.floor(target_fnr * len(p) + 1e-9))
    if len(p) == 0:
        return 0.0
    if allowed >= len(p):
        return 1.0
    # At or below the (allowed+1)-th lowest fake score: at most `allowed` fakes fall under it.
    return max(0.0, grid_at_or_below(float(p[allowed])))


def operating_point(real_probs: np.ndarray, fake_probs: np.ndarray, target_fpr: float, target_fnr: float) -> OperatingPoint:
    t_ai = ai_threshold(real_probs, target_fpr)
    return OperatingPoint(round(t_ai, 4), round(min(real_threshold(fake_probs, target_fnr), t_ai), 4))


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a rate."""
    if n == 0:
        return (0.0, 1.0)
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def decisions(probs: np.ndarray, point: OperatingPoint) -> dict:
    """Shares of images called AI, real and uncertain at the operating point."""
    probs = np.asarray(probs, dtype=np.float64)
    n = len(probs)
    ai = int((probs >= point.ai_threshold).sum())
    real = int((probs < point.real_threshold).sum())
    return {"n": n, "ai": ai / n if n else 0.0, "real": real / n if n else 0.0, "uncertain": (n - ai - real) / n if n else 0.0, "ai_ci": list(wilson(ai, n))}
