"""Opus codec (``opuslib-next-bundled``, which ships its own libopus).

``OpusDecoder``: the device's packets -> int16 PCM at 16 kHz (what VAD and ASR want).
``OpusEncoder``: our int16 PCM -> packets of exactly one ``frame_duration`` each.
"""

from __future__ import annotations

import numpy as np

from daemon.audio.pcm import resample

__all__ = ["OPUS_RATES", "OpusDecoder", "OpusEncoder", "OpusError"]

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
MAX_PACKET_MS = 120


class OpusError(Exception):
    """A packet that does not decode (or PCM that does not encode)."""


def _lib():  # imported lazily: the text-only server must start without it
    import opuslib_next

    return opuslib_next


class OpusDecoder:
    """Decodes one device's stream. Packets of any legal duration (2.5-120 ms) are accepted,
    whatever ``frame_duration`` the hello announced; output is resampled to ``out_rate``."""

    def __init__(self, sample_rate: int = 16000, channels: int = 1, out_rate: int = 16000) -> None:
        self.rate = sample_rate if sample_rate in OPUS_RATES else 48000
        self.channels = channels
        self.out_rate = out_rate
        self._dec = _lib().Decoder(self.rate, channels)
        self._max_samples = self.rate * MAX_PACKET_MS // 1000

    def decode(self, packet: bytes) -> np.ndarray:
        if not packet:
            raise OpusError("empty packet")
        lib = _lib()
        try:
            raw = self._dec.decode(bytes(packet), self._max_samples)
        except lib.OpusError as exc:
            raise OpusError(str(exc)) from None
        pcm = np.frombuffer(raw, dtype=np.int16)
        if self.channels > 1:
            pcm = pcm.reshape(-1, self.channels).mean(axis=1).astype(np.int16)
        return resample(pcm, self.rate, self.out_rate)


class OpusEncoder:
    """Encodes mono int16 PCM at ``sample_rate`` into ``frame_duration`` ms packets; the last
    partial frame is padded with silence."""

    def __init__(self, sample_rate: int = 24000, frame_duration: int = 60,
                 bitrate: int | None = None) -> None:
        if sample_rate not in OPUS_RATES:
            raise OpusError(f"Opus cannot encode at {sample_rate} Hz (one of {OPUS_RATES})")
        if frame_duration not in (10, 20, 40, 60, 120):  # 2.5/5 ms are legal but never used here
            raise OpusError(f"unsupported Opus frame duration {frame_duration} ms")
        lib = _lib()
        self.rate = sample_rate
        self.frame_duration = frame_duration
        self.frame_samples = sample_rate * frame_duration // 1000
        self._enc = lib.Encoder(sample_rate, 1, lib.APPLICATION_VOIP)
        if bitrate:
            self._enc.bitrate = bitrate

    def encode_frame(self, frame: np.ndarray) -> bytes:
        if frame.size != self.frame_samples:
            raise OpusError(f"frame of {frame.size} samples, expected {self.frame_samples}")
        return bytes(self._enc.encode(frame.astype(np.int16).tobytes(), self.frame_samples))

    def encode(self, pcm: np.ndarray) -> list[bytes]:
        n = self.frame_samples
        pad = (-pcm.size) % n
        if pad:
            pcm = np.concatenate([pcm.astype(np.int16), np.zeros(pad, np.int16)])
        return [self.encode_frame(pcm[i : i + n]) for i in range(0, pcm.size, n)]
