"""``xiaozhi-memd memory migrate --to postgresql://...``: copy the SQLite store to PostgreSQL
(``daemon/memory/pg/migrate.py``); no model is loaded."""

from __future__ import annotations

import argparse
import asyncio

from daemon.config import Config
from daemon.progress import say


async def _migrate(args: argparse.Namespace, cfg: Config) -> int:
    from daemon.memory.factory import redact_dsn
    from daemon.memory.pg.migrate import migrate_sqlite

    if not args.to.startswith(("postgresql://", "postgres://")):
        say("--to must be a PostgreSQL DSN: postgresql://user:password@host:5432/dbname")
        return 2
    source = args.source or cfg.data_dir / "memory.sqlite3"
    if not source.exists():
        say(f"no SQLite memory store at {source} (--from FILE to name another)")
        return 1
    say(f"copying {source} to {redact_dsn(args.to)} (stop the server using it first)")
    done = await migrate_sqlite(source, args.to, progress=say)
    say(f"done: {done.memories} memories ({done.skipped_memories} were there already), "
        f"{done.history} history rows, {done.messages} messages, {done.jobs} jobs copied")
    say("now set memory.store: postgresql and memory.dsn in the config of every server")
    return 0


def run(args: argparse.Namespace, cfg: Config) -> int:
    return asyncio.run(_migrate(args, cfg))
