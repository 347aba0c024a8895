"""Child process of the crash test: works on a data dir until it is SIGKILLed.

``python -m tests.reliability.crash_child DATA_DIR RUN SEED``. Prints (flushed) ``BOOT`` once
imported, ``READY`` once the memory and its worker are started, then, only after the call
returned: ``ADDED <id> <user> <text>`` for add(infer=False), ``UPDATED <id> <version>`` for
update(), ``QUEUED <job_id> <user> <fact>`` for worker.enqueue(). A MemoryWorker runs the
queued extraction jobs meanwhile, and the index saver runs every 50 ms, so a kill lands
anywhere: in a commit, an index save, a job, start-up (requeue, index load or rebuild).
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from daemon.memory.worker import MemoryWorker
from tests.reliability.crashkit import USERS, build_memory, disable_exact_text_shortcut, job_message


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(data_dir: Path, run: int, seed: int) -> None:
    rng = random.Random(seed)
    disable_exact_text_shortcut()
    say("BOOT")
    mem = build_memory(data_dir)
    await mem.start(save_interval_s=0.05)
    worker = MemoryWorker(mem, concurrency=2, backoff_s=0.05, max_attempts=5, poll_s=0.02)
    await worker.start()
    say("READY")
    notes: dict[str, tuple[str, int]] = {}  # id -> (text, version) added by this run
    i = 0
    while True:
        i += 1
        user = rng.choice(USERS)
        op = rng.random()
        if op < 0.4:
            text = f"Note {run}.{i} of {user}"
            res = await mem.add(text, user_id=user, infer=False)
            mid = res["results"][0]["id"]
            notes[mid] = (text, 0)
            say(f"ADDED {mid} {user} {text}")
        elif op < 0.5 and notes:
            mid = rng.choice(sorted(notes))
            text, version = notes[mid]
            version += 1
            await mem.update(mid, f"{text} v{version}")
            notes[mid] = (text, version)
            say(f"UPDATED {mid} {version}")
        else:
            fact = f"Fact {run}.{i}"
            job = await worker.enqueue(job_message(fact), user_id=user)
            say(f"QUEUED {job} {user} {fact}")
        # Keep the queue short so the worker is busy all the time but never far behind.
        while len(await mem.store.jobs(("pending",), 20)) >= 6:
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0, 0.01))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
