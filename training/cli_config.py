"""Typed, frozen settings built once from argparse at a command's edge: nothing below `main` sees
an argparse namespace, only the dataclass a command declares for itself."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def from_namespace(cls: type[T], namespace: argparse.Namespace, **derived: Any) -> T:
    """`cls` filled from the parsed arguments (lists become tuples) and `derived` values; a parsed
    argument the dataclass does not declare, or a field left unset, is a programming error."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {**vars(namespace), **derived}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"{cls.__name__} does not declare {', '.join(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def as_record(config: Any, leave_out: tuple[str, ...] = ()) -> dict:
    """The settings as JSON values (paths as strings, tuples as lists), for training.json."""
    record = {}
    for f in fields(config):
        if f.name in leave_out:
            continue
        value = getattr(config, f.name)
        record[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    return record
