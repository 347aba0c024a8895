"""PCM helpers: int16 <-> float32, resampling, WAV bytes. numpy only."""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["from_float", "parse_wav", "resample", "rms_dbfs", "to_float"]


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 samples -> float32 in [-1, 1)."""
    return pcm.astype(np.float32) / 32768.0


def from_float(x: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] -> int16 (clipped)."""
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample mono int16 PCM. Band-limited enough for speech: when downsampling, a short
    windowed-sinc low-pass at the new Nyquist first, then linear interpolation."""
    if src_rate == dst_rate or pcm.size == 0:
        return pcm.astype(np.int16, copy=False)
    x = pcm.astype(np.float32)
    if dst_rate < src_rate:
        cutoff = 0.45 * dst_rate / src_rate  # cycles per sample, a little under Nyquist
        taps = 31
        n = np.arange(taps) - (taps - 1) / 2
        kernel = (2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)).astype(np.float32)
        kernel /= kernel.sum()
        x = np.convolve(x, kernel, mode="same")
    n_out = round(x.size * dst_rate / src_rate)
    positions = np.arange(n_out, dtype=np.float64) * (src_rate / dst_rate)
    y = np.interp(positions, np.arange(x.size), x)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def rms_dbfs(pcm: np.ndarray) -> float:
    """Loudness of int16 PCM in dB full scale (-inf for digital silence)."""
    if pcm.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return 20 * np.log10(rms / 32768.0) if rms > 0 else float("-inf")


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM and its rate from WAV bytes. Tolerates the bogus sizes a streaming
    writer (``espeak-ng --stdout``) puts in the header: the data chunk runs to the end."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos = 12
    rate = channels = bits = 0
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            _fmt, channels, rate, _br, _align, bits = struct.unpack("<HHIIHH", data[body : body + 16])
        elif cid == b"data":
            if not rate or bits != 16:
                raise ValueError("WAV is not 16-bit PCM")
            end = len(data) if size in (0, 0xFFFFFFFF) or body + size > len(data) else body + size
            raw = data[body:end]
            raw = raw[: len(raw) - len(raw) % (2 * channels)]
            pcm = np.frombuffer(raw, dtype="<i2").astype(np.int16)
            if channels > 1:
                pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
            return pcm, rate
        pos = body + size + (size & 1)
    raise ValueError("WAV has no data chunk")
