"""Progress as JSON lines: one object per line on stdout, copied to train_log.jsonl."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Callable, Optional


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


def run_logged(out: Path, log_name: str, body: Callable[[ProgressLog], object]) -> int:
    """Creates the run folder, runs body with a log copied to out/log_name, and turns any failure
    into a final {"event": "error"} line and exit status 1."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / log_name).write_text("")
    except OSError as error:
        ProgressLog().emit("error", message=f"cannot write run folder {out}: {error}")
        return 1
    log = ProgressLog(copy_path=out / log_name)
    try:
        body(log)
    except Exception as error:  # every failure still ends with one machine-readable line
        log.emit("error", message=f"{type(error).__name__}: {error}")
        import traceback

        traceback.print_exc(file=sys.stderr)
        return 1
    return 0
