"""mem0's documented quick start, unchanged except the import, on the embedded defaults (the
real Qwen2.5-Coder-1.5B and e5): in a fresh process with its own HOME, which must end by
itself (no ``close()``) and keep its data in the user's data folder, not ./data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

# mem0's quick start (docs.mem0.ai/open-source/python-quickstart and the basic operations
# after it); only the import differs. The last lines print what the test checks.
QUICK_START = '''
from daemon.memory import Memory

m = Memory()

messages = [
    {"role": "user", "content": "Hi, I'm Alex. I love basketball and gaming."},
    {"role": "assistant", "content": "Hey Alex! I'll remember your interests."}
]
m.add(messages, user_id="alex")

results = m.search("What do you know about me?", filters={"user_id": "alex"})
print(results)

all_memories = m.get_all(user_id="alex")
memory_id = all_memories["results"][0]["id"]
specific_memory = m.get(memory_id)

result = m.update(memory_id=memory_id, data="I love India, it is my favorite country.")
history = m.history(memory_id=memory_id)
m.delete(memory_id=memory_id)
after_delete = m.history(memory_id=memory_id)
m.delete_all(user_id="alex")

import json
print("CHECK " + json.dumps({
    "found": [r["memory"] for r in results["results"]],
    "all": [r["memory"] for r in all_memories["results"]],
    "got": specific_memory["memory"],
    "update": result,
    "history": [[h["event"], h["old_memory"], h["new_memory"]] for h in history],
    "after_delete": [[h["event"], h["old_memory"], h["new_memory"]] for h in after_delete],
    "left": m.get_all(user_id="alex")["results"],
}))
'''


def test_mem0_quick_start_runs_unchanged_and_exits_by_itself(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XIAOZHI_MEMD_", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT),
               XIAOZHI_MEMD_MODELS_DIR=str(ROOT / "models"))
    script = tmp_path / "quickstart.py"
    script.write_text(QUICK_START, encoding="utf-8")
    # The time limit is the point: a process that does not end by itself fails here.
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    data = home / ".local/share/xiaozhi-memd"
    assert f"memories are kept in {data}" in done.stderr
    assert (data / "memory.sqlite3").is_file() and not (tmp_path / "data").exists()
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("CHECK ")]
    out = json.loads(line[len("CHECK "):])
    said = " ".join(out["all"]).casefold()
    assert "basketball" in said and "gaming" in said, out["all"]
    # Only memories above the embedder's threshold come back (mem0 ranks everything): a
    # question this vague may find none, but never another user's or a made-up one.
    assert set(out["found"]) <= set(out["all"])
    assert out["got"] in out["all"]
    assert out["update"] == {"message": "Memory updated successfully!"}
    assert out["history"] == [["ADD", None, out["got"]],
                              ["UPDATE", out["got"], "I love India, it is my favorite country."]]
    # A delete is a forget: the events stay, their texts go.
    assert out["after_delete"] == [["ADD", None, None], ["UPDATE", None, None],
                                   ["DELETE", None, None]]
    assert out["left"] == []
