"""Reading a chat prompt's opening into a llama-cpp-python context ahead of time.

The next turn's prompt starts with what is already known when a turn ends: the system prompt,
the session's dialogue including the exchange just finished, and the memory message's opening
line. The turn's own prompt put its memories between the dialogue and the new words, so the
cached tokens stop matching where those memories began; the next turn would read the last
exchange (and, once the dialogue window slides, all of the dialogue) before its first word.
Read while the user is still speaking, only the memories and the words are left.

llama-cpp-python keeps the longest common prefix of the cached and the new tokens
(``Llama.generate``); this reads the opening in small chunks on the model's own thread, so a
real call that arrives meanwhile waits for one chunk at most.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

CHUNK = 32  # tokens read between two looks at the stop flag


def chat_tokens(llama: Any, messages: Sequence[dict[str, str]]) -> list[int] | None:
    """``messages`` as the model's own chat template renders them (no assistant opening), in
    tokens; None when the model has no template in its file. (A model whose template matched
    one of the library's built-in formats renders alike; where it would not, the cached prefix
    is shorter, never wrong.)"""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None

    def special(token: int) -> str:
        return "" if token < 0 else llama.detokenize([token], special=True).decode(
            "utf-8", errors="ignore")

    formatter = Jinja2ChatFormatter(template=template, eos_token=special(llama.token_eos()),
                                    bos_token=special(llama.token_bos()),
                                    add_generation_prompt=False)
    text = formatter(messages=list(messages)).prompt
    # As create_chat_completion tokenizes a template's prompt (it adds its own specials).
    return llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def read_prefix(llama: Any, tokens: Sequence[int], stop: threading.Event) -> int:
    """Evaluate what ``tokens`` has beyond the context's cached prefix; returns the tokens
    read (0 when cached already or stopped before the first chunk)."""
    cached = list(llama.input_ids[: llama.n_tokens])
    common = 0
    for a, b in zip(cached, tokens):
        if a != b:
            break
        common += 1
    read = 0
    for i in range(common, len(tokens), CHUNK):
        if stop.is_set():
            break
        llama.n_tokens = i  # eval() drops the cache from here and appends the chunk
        chunk = list(tokens[i:i + CHUNK])
        llama.eval(chunk)
        read += len(chunk)
    return read
