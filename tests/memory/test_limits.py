"""Bounded work per input: the embedder's pieces and window, extraction calls that fit the
context window, and the limits named when an add is over them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon.llm.base import ChatMessage
from daemon.memory.extractor import FactExtractor
from daemon.memory.limits import (
    EMBED_PIECE_TOKENS,
    EMBED_WINDOW_TOKENS,
    MAX_ADD_CHARS,
    MAX_MEMORY_CHARS,
    LimitError,
)

MODELS = Path(__file__).resolve().parents[2] / "models"
EN = "My sister lives in Beijing and likes green tea; we walk in the park on Sundays. "
ZH = "我的妹妹住在北京，她喜欢喝绿茶。我们周末常常一起去公园散步，然后吃火锅。"

pytestmark = pytest.mark.both_backends


def test_a_long_text_is_embedded_in_bounded_pieces(e5) -> None:
    for text in (EN * 2000, ZH * 3000):
        pieces = e5.pieces(text)
        counts = [e5.count_tokens(p) for p in pieces]
        assert all(n <= EMBED_PIECE_TOKENS for n in counts), counts
        assert sum(counts) <= EMBED_WINDOW_TOKENS
        assert text.startswith(pieces[0][:50])
        vec = e5.embed_documents([text])[0]
        assert vec.shape == (e5.dim,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5
    # A query is cut to one piece.
    assert e5.count_tokens(e5.pieces(EN * 2000, EMBED_PIECE_TOKENS)[0]) <= EMBED_PIECE_TOKENS


def test_a_short_text_embeds_as_before(e5) -> None:
    text = "Lives in Lisbon with two cats"
    assert e5.pieces(text) == [text]
    direct = e5._model.embed(text, query=False)
    assert np.allclose(e5.embed_documents([text])[0], direct / np.linalg.norm(direct), atol=1e-6)


def test_a_text_of_several_pieces_is_still_found(e5) -> None:
    long_fact = "Works as a nurse at the Lisbon city hospital on night shifts. " * 12
    other = "Likes green tea"
    docs = e5.embed_documents([long_fact, other])
    q = e5.embed_queries(["What is my job?"])[0]
    assert len(e5.pieces(long_fact)) > 1
    assert float(docs[0] @ q) > float(docs[1] @ q)


class CountingLLM:
    """Extraction through a real tokenizer's counts (SmolLM2's, the least frugal with Chinese);
    records every prompt, answers with each user line as a fact."""

    name = "counting"

    def __init__(self, context_tokens: int) -> None:
        from llama_cpp import Llama

        self._vocab = Llama(model_path=str(MODELS / "smollm2-135m-instruct.gguf"),
                            vocab_only=True, verbose=False)
        self.context_tokens = context_tokens
        self.prompts: list[list[ChatMessage]] = []

    def count_tokens(self, text: str) -> int:
        return len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    async def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any], *,
                            max_tokens: int, timeout_s: float) -> str:
        self.prompts.append(list(messages))
        lines = messages[-1]["content"].splitlines()
        return json.dumps({"facts": [ln[6:60] for ln in lines if ln.startswith("user: ")]})

    async def stream_chat(self, messages: Sequence[ChatMessage], **kw: Any) -> AsyncIterator[str]:
        yield ""

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("said", [ZH * 400, EN * 190], ids=["zh", "en"])
async def test_extraction_is_split_into_calls_that_fit_the_context(said: str) -> None:
    said = said[:MAX_ADD_CHARS]
    llm = CountingLLM(context_tokens=4096)
    extractor = FactExtractor(llm, max_tokens=384)
    conversation: list[ChatMessage] = [
        {"role": "assistant", "content": "Tell me about your family."},
        {"role": "user", "content": said},
        {"role": "user", "content": "My cat is called Mimi."},
    ]
    facts, calls = await extractor.extract(conversation, date(2026, 11, 30))
    assert calls == len(llm.prompts) > 1
    for prompt in llm.prompts:
        tokens = sum(llm.count_tokens(m["content"]) + 8 for m in prompt)
        assert tokens + 384 <= 4096, tokens
    # Every word the user said went to some call, in order; the context line went first.
    shown = "".join(ln[6:] for p in llm.prompts for ln in p[-1]["content"].splitlines()
                    if ln.startswith("user: "))
    assert shown.replace(" ", "") == (" ".join(said.split()) + "My cat is called Mimi.").replace(
        " ", "")
    assert "assistant: Tell me about your family." in llm.prompts[0][-1]["content"]
    assert "My cat is called Mimi." in facts


async def test_an_ordinary_exchange_is_one_call() -> None:
    llm = CountingLLM(context_tokens=4096)
    facts, calls = await FactExtractor(llm).extract(
        [{"role": "user", "content": "我住在上海。"}], date(2026, 11, 30))
    assert calls == 1 and facts == ["我住在上海。"]


async def test_an_add_over_the_limits_names_them(open_memory, fake) -> None:
    mem = await open_memory(fake)
    with pytest.raises(LimitError, match=f"at most {MAX_MEMORY_CHARS} characters"):
        await mem.add("x" * (MAX_MEMORY_CHARS + 1), user_id="u", infer=False)
    with pytest.raises(LimitError, match=f"at most {MAX_ADD_CHARS} characters"):
        await mem.add("x" * (MAX_ADD_CHARS + 1), user_id="u")
    added = await mem.add("ok", user_id="u", infer=False)
    with pytest.raises(LimitError):
        await mem.update(added["results"][0]["id"], "y" * (MAX_MEMORY_CHARS + 1))
    assert (await mem.get_all(user_id="u"))["results"][0]["memory"] == "ok"
