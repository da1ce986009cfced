"""Writes functions/test/fixtures/patch-grid-cases.json: patch_grid's answers on a table of image
sizes (tiny, thin, huge, odd, square), which the serving code's patchGrid must match exactly.

    python3 -m training.patch_grid_cases
"""

import json
from pathlib import Path

from .patches import patch_grid

SIZES = [
    (1, 1),
    (7, 300),
    (63, 64),
    (64, 64),
    (65, 65),
    (100, 40),
    (240, 240),
    (256, 256),
    (336, 336),
    (348, 464),
    (512, 384),
    (1000, 1000),
    (1024, 768),
    (4000, 3000),
    (3000, 4000),
    (5000, 40),
    (40, 5000),
    (8000, 8000),
    (129, 1000),
    (333, 77),
]
SETTINGS = [(64, 16), (64, 1), (32, 9), (96, 4)]
OUT = Path(__file__).resolve().parent.parent / "functions" / "test" / "fixtures" / "patch-grid-cases.json"


def cases() -> list[dict]:
    return [{"width": w, "height": h, "size": s, "count": c, "boxes": [list(b) for b in patch_grid(w, h, s, c)]} for (w, h) in SIZES for (s, c) in SETTINGS]


def main() -> int:
    OUT.write_text(json.dumps({"$comment": "written by python3 -m training.patch_grid_cases", "cases": cases()}) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
