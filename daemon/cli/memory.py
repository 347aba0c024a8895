"""``xiaozhi-memd memory ...``: see and edit what the assistant remembers, through ``Memory``'s
public API. Each subcommand is one coroutine ``(args, memory) -> exit code`` in ``ACTIONS``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from daemon.config import Config
from daemon.progress import say

Action = Callable[[argparse.Namespace, Any], Awaitable[int]]
EXPORT_KEYS = {"id", "memory", "created_at", "updated_at"}


def _print_memory(m: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(m, ensure_ascii=False))
        return
    score = f"  ({m['score']:.2f})" if "score" in m else ""
    closed = "  [closed]" if m.get("valid_to") else ""
    print(f"{m['id']}  {m.get('user_id', '-')}  {m['memory']}{score}{closed}")


async def list_memories(args: argparse.Namespace, memory: Any) -> int:
    if args.user is None:
        for e in await memory.entities():
            print(f"{e['id'] or '(none)'}  {e['total_memories']} memories"
                  f" ({e['closed_memories']} closed), last change {e['updated_at']}")
        return 0
    found = await memory.get_all(user_id=args.user, limit=args.limit, include_closed=args.closed)
    for m in found["results"]:
        _print_memory(m, args.json)
    return 0


async def search(args: argparse.Namespace, memory: Any) -> int:
    found = await memory.search(args.query, user_id=args.user, limit=args.limit)
    for m in found["results"]:
        _print_memory(m, args.json)
    return 0


async def show(args: argparse.Namespace, memory: Any) -> int:
    m = await memory.get(args.id)
    if m is None:
        say(f"no memory with id {args.id}")
        return 1
    _print_memory(m, args.json)
    for h in await memory.history(args.id):
        event = "CLOSED" if h["closed"] else h["event"]
        print(f"  {h['created_at']}  {event:7s} {h['old_memory'] or ''} -> "
              f"{h['new_memory'] or ''}  (by {h['actor_id']})")
    return 0


async def edit(args: argparse.Namespace, memory: Any) -> int:
    if await memory.get(args.id) is None:
        say(f"no memory with id {args.id}")
        return 1
    try:
        await memory.update(args.id, text=args.text)
    except ValueError as exc:  # empty, too long, or a closed memory
        say(f"not updated: {exc}")
        return 1
    say("updated")
    return 0


async def forget(args: argparse.Namespace, memory: Any) -> int:
    if await memory.get(args.id) is None:
        say(f"no memory with id {args.id}")
        return 1
    await memory.delete(args.id)
    say("forgotten (its text is removed from history too)")
    return 0


async def forget_user(args: argparse.Namespace, memory: Any) -> int:
    if not args.yes:
        say(f"this deletes every memory of '{args.user}': add --yes to confirm")
        return 1
    say((await memory.delete_all(user_id=args.user))["message"])
    return 0


async def reset(args: argparse.Namespace, memory: Any) -> int:
    if not args.yes:
        say("this deletes ALL memories, history, messages and queued jobs: add --yes")
        return 1
    await memory.reset()
    say("all memories deleted")
    return 0


async def export(args: argparse.Namespace, memory: Any) -> int:
    items = await memory.export_items(user_id=args.user)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    say(f"exported {len(items)} memories")
    return 0


async def import_(args: argparse.Namespace, memory: Any) -> int:
    items = []
    with open(args.file, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not EXPORT_KEYS <= set(item):
                    raise ValueError("missing id, memory, created_at or updated_at")
            except ValueError as exc:
                say(f"{args.file}:{n}: not an exported memory ({exc}); nothing imported")
                return 1
            items.append(item)
    imported, skipped = await memory.import_items(items)
    say(f"imported {imported} memories, {skipped} already present")
    return 0


async def jobs(args: argparse.Namespace, memory: Any) -> int:
    for j in await memory.jobs(("pending", "running", "parked")):
        err = f": {j.last_error}" if j.last_error else ""
        print(f"#{j.id}  {j.user_id or '-'}  {j.state}  attempts {j.attempts}{err}")
    if args.retry:
        say(f"{await memory.retry_parked()} parked job(s) will run again")
    return 0


ACTIONS: dict[str, Action] = {
    "list": list_memories, "search": search, "show": show, "edit": edit, "forget": forget,
    "forget-user": forget_user, "reset": reset, "export": export, "import": import_,
    "jobs": jobs,
}


async def _run(args: argparse.Namespace, cfg: Config) -> int:
    from daemon.memory.factory import open_memory

    memory = await open_memory(cfg, progress=say)
    try:
        return await ACTIONS[args.memory_command](args, memory)
    finally:
        await memory.close()


def run(args: argparse.Namespace, cfg: Config) -> int:
    return asyncio.run(_run(args, cfg))
