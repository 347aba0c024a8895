"""Progress: how slow steps (loading models, rebuilding indexes, installing) tell a person
what is happening. One type for the whole package: a callable taking one line of text."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

__all__ = ["Progress", "logged", "say"]

Progress = Callable[[str], None]


def say(msg: str) -> None:
    """Progress for people at a terminal: stderr, flushed, never mixed into data on stdout."""
    print(msg, file=sys.stderr, flush=True)


def logged(logger: logging.Logger) -> Progress:
    """Progress as INFO lines of ``logger`` (a server without a terminal)."""
    return lambda msg: logger.info("%s", msg)
