"""Checks that a user is really gone: every table, the index, the database bytes on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Every table that can hold a user's id or words, with its text columns.
TEXT_COLUMNS = {
    "memories": ("user_id", "text", "metadata"),
    "history": ("user_id", "old_memory", "new_memory"),
    "messages": ("user_id", "content"),
    "jobs": ("user_id", "payload"),
}


def rows_mentioning(db: Path, needle: str) -> dict[str, int]:
    """Rows per table whose text columns contain ``needle`` (an id or a marker)."""
    found: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        for table, cols in TEXT_COLUMNS.items():
            where = " OR ".join(f"instr(coalesce({c}, ''), ?) > 0" for c in cols)
            (n,) = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}",
                                [needle] * len(cols)).fetchone()
            if n:
                found[table] = n
        # The keyword index keeps its own copy of each memory's words (keywords.index_words).
        (n,) = conn.execute("SELECT count(*) FROM memories_words WHERE memories_words MATCH ?",
                            [f'"{needle}"']).fetchone()
        if n:
            found["memories_words"] = n
    return found


def files_containing(db: Path, needle: str) -> list[str]:
    """The database's files (main, WAL, shared memory) whose bytes contain ``needle``."""
    return [p.name for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
            if p.exists() and needle.encode("utf-8") in p.read_bytes()]
