"""Progress as JSON lines: one object per line on stdout, copied to train_log.jsonl."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Optional


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class ProgressLog:
    def __init__(self, stream: Optional[IO[str]] = None, copy_path: Optional[Path] = None):
        self.stream = stream  # None: whatever sys.stdout is at the time of each line
        self.lines: list[str] = []
        self.copy_path = copy_path

    def emit(self, event: str, **fields) -> dict:
        record = _clean({"event": event, **fields})
        line = json.dumps(record, separators=(",", ":"))
        stream = self.stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()
        self.lines.append(line)
        if self.copy_path is not None:
            with open(self.copy_path, "a") as copy:
                copy.write(line + "\n")
        return record


def say(message: str) -> None:
    """Human-readable chatter, kept off stdout so it never mixes with the JSON lines."""
    print(message, file=sys.stderr, flush=True)
