"""What every command shares: loading the config, logging to stderr, and telling an error
about the data dir (a user can fix it) from any other OSError (a bug)."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from pathlib import Path

from daemon.config import Config, default_config_path, load_config


def load(args: argparse.Namespace) -> Config:
    return load_config(args.config or default_config_path())


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def under(exc: BaseException, folder: Path) -> bool:
    """An error about the data dir (its SQLite file or index files)?"""
    if isinstance(exc, sqlite3.Error):
        return True
    name = getattr(exc, "filename", None)
    return name is not None and str(name).startswith(str(folder))
