"""The ``xiaozhi-memd`` command line: ``main`` parses (``parser``), loads the config and runs
one command module (serve, chat, doctor, models, memory), turning the errors a user can fix
into one line and an exit code instead of a traceback.

A new command is a module with ``run(args, cfg) -> int`` and its arguments in ``parser``.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence

from daemon.cli.common import load, setup_logging, under
from daemon.cli.parser import build_parser
from daemon.config import ConfigError
from daemon.llm.base import LLMError
from daemon.modelfiles import ModelMissingError
from daemon.progress import say

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load(args)
    except ConfigError as exc:
        say(f"xiaozhi-memd: {exc}")
        return 2
    setup_logging(cfg.logging.level)
    try:
        return int(args.func(args, cfg))
    except (ModelMissingError, LLMError) as exc:
        say(f"xiaozhi-memd: {exc}")
        return 2
    except (OSError, sqlite3.Error) as exc:
        if not under(exc, cfg.data_dir):
            raise
        say(f"xiaozhi-memd: data dir {cfg.data_dir} is not writable ({exc}) - fix: free space, "
            "or point data_dir / XIAOZHI_MEMD_DATA_DIR at a writable folder")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
