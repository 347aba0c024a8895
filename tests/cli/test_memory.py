"""`xiaozhi-memd memory ...` as the installed console script on a real data dir (SQLite, the
real embedder): list, search, show, edit, forget, export -> reset -> import, and wrong ids or
text as one clear line with exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.server import run_cli, write_config

SEED = """
import asyncio, sys
from daemon.config import load_config
from daemon.memory.factory import open_memory
async def main():
    m = await open_memory(load_config(sys.argv[1]))
    await m.add("Has a dog called Rex", user_id="u1", infer=False)
    await m.close()
asyncio.run(main())
"""


def _cli(cfg: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("--config", str(cfg), "memory", *args, **kw)


def test_export_reset_import_gives_identical_results(tmp_path: Path) -> None:
    """Through the CLI on a real data dir: export, wipe, import (twice: idempotent)."""
    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(tmp_path / "data")})
    code = """
import asyncio, sys
from daemon.config import load_config
from daemon.memory.factory import open_memory
async def main():
    m = await open_memory(load_config(sys.argv[1]))
    for u, texts in {"u1": ["Lives in Berlin", "喜欢喝绿茶", "Has a cat called Momo"],
                      "u2": ["Works as a nurse", "住在上海"]}.items():
        for t in texts:
            await m.add(t, user_id=u, infer=False, metadata={"src": "test"})
    first = (await m.get_all(user_id="u1"))["results"][0]["id"]
    await m.update(first, "Lives in Munich")
    await m.close()
asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", code, str(cfg)], check=True, timeout=120)

    def snapshot() -> dict:
        out = {}
        for user in ("u1", "u2"):
            listed = _cli(cfg, "list", "--user", user, "--closed", "--json")
            assert listed.returncode == 0, listed.stderr
            out[user] = [json.loads(x) for x in listed.stdout.splitlines()]
            found = _cli(cfg, "search", "where does the user live", "--user", user, "--json")
            out[user + "-search"] = [json.loads(x) for x in found.stdout.splitlines()]
        return out

    before = snapshot()
    assert before["u1"][0]["memory"] == "Lives in Munich"
    export = tmp_path / "export.jsonl"
    assert _cli(cfg, "export", "--output", str(export)).returncode == 0
    lines = export.read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["history"][1]["old_memory"] == "Lives in Berlin"
    assert _cli(cfg, "forget-user", "u2", "--yes").returncode == 0
    assert _cli(cfg, "list", "--user", "u2").stdout == ""
    assert _cli(cfg, "reset").returncode == 1  # asks for --yes
    assert _cli(cfg, "reset", "--yes").returncode == 0
    assert _cli(cfg, "list", "--user", "u1").stdout == ""
    imported = _cli(cfg, "import", str(export))
    assert "imported 5 memories, 0 already present" in imported.stderr
    again = _cli(cfg, "import", str(export))
    assert "imported 0 memories, 5 already present" in again.stderr
    after = snapshot()
    assert after == before
    shown = _cli(cfg, "show", before["u1"][0]["id"])
    assert "UPDATE  Lives in Berlin -> Lives in Munich" in shown.stdout


def test_wrong_id_or_text_is_one_line_and_exit_1(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(tmp_path / "data")})
    subprocess.run([sys.executable, "-c", SEED, str(cfg)], check=True, timeout=120)
    listed = _cli(cfg, "list", "--user", "u1", "--json")
    (memory,) = [json.loads(x) for x in listed.stdout.splitlines()]
    for action in (["show", "nope"], ["edit", "nope", "x"], ["forget", "nope"]):
        out = _cli(cfg, *action)
        assert (out.returncode, out.stderr.strip()) == (1, "no memory with id nope"), action
    out = _cli(cfg, "edit", memory["id"], "   ")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("not updated: ") and "empty" in out.stderr
    assert _cli(cfg, "show", memory["id"]).stdout.startswith(f"{memory['id']}  u1  Has a dog")
    assert _cli(cfg, "edit", memory["id"], "Has a dog called Max").returncode == 0
    assert _cli(cfg, "forget", memory["id"]).returncode == 0
    assert _cli(cfg, "list", "--user", "u1").stdout == ""
