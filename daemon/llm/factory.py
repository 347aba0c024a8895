"""Build the configured chat backend."""

from __future__ import annotations

from pathlib import Path

from daemon.config import LLMConfig
from daemon.llm.base import ChatLLM
from daemon.modelfiles import resolve_gguf


def make_llm(cfg: LLMConfig, models_dir: Path, *, model: str = "") -> ChatLLM:
    """The backend ``cfg.provider`` names; ``model`` overrides ``cfg.model`` (extraction)."""
    if cfg.provider == "scripted":
        from daemon.llm.scripted import ScriptedLLM

        if not cfg.scripted.replies_file:
            return ScriptedLLM()
        return ScriptedLLM.from_file(Path(cfg.scripted.replies_file))
    if cfg.provider == "openai":
        from daemon.llm.openai_http import OpenAIChatLLM

        return OpenAIChatLLM(
            cfg.openai.base_url, api_key=cfg.openai.api_key, model=model or cfg.openai.model
        )
    from daemon.llm.llamacpp import LlamaCppLLM

    path = resolve_gguf(model or cfg.model, models_dir)
    return LlamaCppLLM(
        path, n_ctx=cfg.llamacpp.n_ctx, n_threads=cfg.llamacpp.n_threads,
        n_threads_batch=cfg.llamacpp.n_threads_batch, seed=cfg.llamacpp.seed
    )
