"""Writes functions/test/fixtures/operating-point-cases.json: operating_point's thresholds and
Wilson intervals on a table of score sets (ties, extremes, tiny and larger sets, scores on the
four-decimal grid), which pipeline/src/operating-point.ts must match exactly: the held-out folds
(Python) and the published model (TypeScript) decide by one rule.

    python3 -m training.operating_point_cases
"""

import json
from pathlib import Path

import numpy as np

from .operating_point import operating_point, wilson

OUT = Path(__file__).resolve().parent.parent / "functions" / "test" / "fixtures" / "operating-point-cases.json"


def score_sets() -> list[dict]:
    rng = np.random.default_rng(7)
    sets = [
        {"name": "one of each", "reals": [0.2], "fakes": [0.8], "target_fpr": 0.02, "target_fnr": 0.02},
        {"name": "separated", "reals": [0.01, 0.05, 0.1, 0.2], "fakes": [0.7, 0.9, 0.95, 0.99], "target_fpr": 0.02, "target_fnr": 0.02},
        {"name": "overlapping", "reals": [0.1, 0.4, 0.6, 0.9], "fakes": [0.3, 0.5, 0.8, 0.95], "target_fpr": 0.25, "target_fnr": 0.25},
        {"name": "ties at the edge", "reals": [0.5, 0.5, 0.5, 0.1], "fakes": [0.5, 0.5, 0.9, 0.9], "target_fpr": 0.25, "target_fnr": 0.25},
        {"name": "extremes", "reals": [0.0, 0.0, 1.0], "fakes": [0.0, 1.0, 1.0], "target_fpr": 0.34, "target_fnr": 0.34},
        {"name": "on the four-decimal grid", "reals": [0.1234, 0.12345, 0.9999], "fakes": [0.0001, 0.5, 0.99995], "target_fpr": 0.34, "target_fnr": 0.34},
        {"name": "scores on grid points themselves", "reals": [0.6, 0.35, 0.2], "fakes": [0.2, 0.3, 0.7], "target_fpr": 0.0, "target_fnr": 0.0},
        {"name": "everything allowed", "reals": [0.3, 0.6], "fakes": [0.4, 0.7], "target_fpr": 1.0, "target_fnr": 1.0},
        {"name": "nothing allowed", "reals": [0.3, 0.6], "fakes": [0.4, 0.7], "target_fpr": 0.0, "target_fnr": 0.0},
    ]
    for n in (50, 149, 500):
        reals = np.clip(rng.beta(2, 6, n), 0, 1).round(6)
        fakes = np.clip(rng.beta(5, 2, n), 0, 1).round(6)
        sets.append({"name": f"{n} of each, beta scores", "reals": reals.tolist(), "fakes": fakes.tolist(), "target_fpr": 0.02, "target_fnr": 0.02})
    return sets


def cases() -> list[dict]:
    out = []
    for case in score_sets():
        reals, fakes = np.array(case["reals"]), np.array(case["fakes"])
        point = operating_point(reals, fakes, case["target_fpr"], case["target_fnr"])
        called = int((reals >= point.ai_threshold).sum())
        out.append(
            {
                **case,
                "ai_threshold": point.ai_threshold,
                "real_threshold": point.real_threshold,
                "fpr_ci": [round(v, 4) for v in wilson(called, len(reals))],
            }
        )
    return out


def main() -> int:
    OUT.write_text(json.dumps({"$comment": "written by python3 -m training.operating_point_cases", "cases": cases()}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
