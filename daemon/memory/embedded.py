"""``Memory()`` / ``AsyncMemory()`` with no arguments, and ``from_config``: the embedded
defaults (the installed local models, data in the user's data folder), optionally shaped by
mem0's configuration dict (``mem0_config``).

The data folder is ``$XDG_DATA_HOME/xiaozhi-memd`` (``~/.local/share/xiaozhi-memd``), never the
server's ``./data``: a script must not write into the database a running server uses.
``XIAOZHI_MEMD_DATA_DIR`` or mem0's ``vector_store.config.path`` choose another folder.
Models are looked up in ``./models`` when there is one (a checkout, an install folder), else in
``<data folder>/models``; ``XIAOZHI_MEMD_MODELS_DIR`` chooses (``models install`` reads it too).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daemon.config import Config, env_overrides
from daemon.llm.base import ChatLLM, ChatMessage
from daemon.memory.mem0_config import Mapped, Mem0ConfigError, map_config
from daemon.memory.prompts import DECIDE_SYSTEM, EXTRACT_SYSTEM
from daemon.memory.store import SqliteStore
from daemon.modelfiles.resolve import ModelMissingError

DATA_ENV = "XIAOZHI_MEMD_DATA_DIR"
MODELS_ENV = "XIAOZHI_MEMD_MODELS_DIR"


def data_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where an embedded Memory keeps its data unless told otherwise."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/share")
    return Path(base).expanduser() / "xiaozhi-memd"


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (_merge(out[key], value) if isinstance(value, Mapping)
                    and isinstance(out.get(key), dict) else value)
    return out


def embedded_config(mapped: Mapped, environ: Mapping[str, str] | None = None) -> Config:
    """Built-in defaults, then the mem0 config's settings, then XIAOZHI_MEMD_* variables."""
    env = os.environ if environ is None else environ
    data = _merge(mapped.overrides, env_overrides(env))
    try:
        cfg = Config.model_validate(data).resolved(Path.cwd())
    except ValidationError as exc:
        raise Mem0ConfigError(f"configuration: {exc}") from None
    if mapped.data_dir is not None:
        folder = mapped.data_dir
    elif DATA_ENV in env:
        folder = cfg.data_dir
    elif mapped.history_db_path is not None:
        folder = mapped.history_db_path.parent
    else:
        folder = data_home(env)
    models = cfg.models_dir
    if MODELS_ENV not in env and not models.is_dir():
        # Not a checkout or an install folder: the models sit beside the data by default.
        models = data_home(env) / "models"
    return cfg.model_copy(update={"data_dir": folder.resolve(), "models_dir": models})


class PromptOverride:
    """The extraction model with mem0's custom prompts in place of our system prompts (the
    answer stays schema-bound JSON, so a custom prompt changes what is kept, not the format)."""

    def __init__(self, llm: ChatLLM, fact_prompt: str | None, update_prompt: str | None) -> None:
        self._llm = llm
        self._swap = {k: v for k, v in ((EXTRACT_SYSTEM, fact_prompt),
                                        (DECIDE_SYSTEM, update_prompt)) if v}
        self.name = llm.name

    def _messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        return [{"role": m["role"], "content": self._swap.get(m["content"], m["content"])}
                if m["role"] == "system" else m for m in messages]

    async def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                            **kwargs: Any) -> str:
        return await self._llm.complete_json(self._messages(messages), schema, **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
        return self._llm.stream_chat(self._messages(messages), **kwargs)

    async def close(self) -> None:
        await self._llm.close()


def embedded_options(config: Mapping[str, Any] | None = None, *,
                     announce: bool = True) -> dict[str, Any]:
    """``AsyncMemory``'s arguments for ``Memory()`` (``config`` None) or ``from_config``."""
    from daemon.llm.factory import make_llm
    from daemon.memory.factory import memory_options

    mapped = map_config(config) if config is not None else Mapped({})
    cfg = embedded_config(mapped)
    try:
        llm: Any = make_llm(cfg.llm, cfg.models_dir, model=cfg.memory.extraction_model)
        if mapped.fact_prompt or mapped.update_prompt:
            llm = PromptOverride(llm, mapped.fact_prompt, mapped.update_prompt)
        options = memory_options(cfg, llm=llm, progress=lambda _msg: None)
    except ModelMissingError as exc:
        # The install command must put the model where this Memory looks for it.
        fix = exc.fix if cfg.models_dir == Path.cwd() / "models" or not exc.fix \
            else f"{MODELS_ENV}={cfg.models_dir} {exc.fix}"
        raise ModelMissingError(Exception.__str__(exc), fix=fix) from None
    if mapped.history_db_path is not None:
        options["store"] = SqliteStore(mapped.history_db_path)
    if announce:
        print(f"xiaozhi-memd: memories are kept in {cfg.data_dir}", file=sys.stderr)
    return options
