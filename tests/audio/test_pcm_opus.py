"""PCM helpers and the Opus codec (opuslib-next-bundled): round trips at 16 and 24 kHz."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from daemon.audio.opus import OpusDecoder, OpusEncoder, OpusError
from daemon.audio.pcm import parse_wav, resample, rms_dbfs
from tests.support.audio import speech


def _sine(freq: float, seconds: float, rate: int, amp: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spec) * rate / x.size)


@pytest.mark.parametrize(("src", "dst"), [(22050, 24000), (22050, 16000), (24000, 16000),
                                          (16000, 24000), (48000, 16000)])
def test_resample_keeps_length_and_pitch(src: int, dst: int) -> None:
    x = _sine(440, 1.0, src)
    y = resample(x, src, dst)
    assert abs(y.size - dst) <= 1
    assert abs(_peak_hz(y, dst) - 440) < 3


def test_resample_downsampling_filters_what_cannot_be_kept() -> None:
    x = _sine(10000, 1.0, 48000)  # above the 8 kHz Nyquist of 16 kHz
    assert rms_dbfs(resample(x, 48000, 16000)) < rms_dbfs(x) - 15


def test_parse_wav_tolerates_streamed_header_sizes() -> None:
    pcm = _sine(300, 0.1, 22050)
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16)
    data = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm.tobytes())
    out, rate = parse_wav(data)
    assert rate == 22050 and np.array_equal(out, pcm)
    with pytest.raises(ValueError):
        parse_wav(b"not a wav file at all")


def _snr_db(ref: np.ndarray, out: np.ndarray) -> float:
    """Best-aligned SNR (the codec adds a few ms of delay)."""
    best = -99.0
    ref = ref.astype(np.float64)
    for lag in range(0, 400):
        o = out[lag : lag + ref.size].astype(np.float64)
        r = ref[: o.size]
        noise = np.sum((r - o) ** 2)
        best = max(best, 10 * np.log10(np.sum(r**2) / max(noise, 1e-9)))
    return best


@pytest.mark.parametrize(("rate", "frame_ms"), [(16000, 60), (24000, 60), (16000, 20), (24000, 20)])
def test_opus_round_trip(rate: int, frame_ms: int) -> None:
    x = speech("The quick brown fox jumps over the lazy dog.", rate)
    enc = OpusEncoder(rate, frame_ms)
    packets = enc.encode(x)
    assert len(packets) == -(-x.size // enc.frame_samples)
    assert all(0 < len(p) < 1000 for p in packets)
    dec = OpusDecoder(rate, 1, out_rate=rate)
    y = np.concatenate([dec.decode(p) for p in packets])
    assert y.size == len(packets) * enc.frame_samples  # every packet decodes to one frame
    assert abs(rms_dbfs(y) - rms_dbfs(x)) < 2
    assert _snr_db(x, y) > 5  # speech-shaped, not noise (a lossy codec: waveform SNR is modest)


def test_decoder_resamples_device_audio_to_16k() -> None:
    x = _sine(500, 0.6, 24000)
    packets = OpusEncoder(24000, 60).encode(x)
    dec = OpusDecoder(24000, 1, out_rate=16000)
    y = np.concatenate([dec.decode(p) for p in packets])
    assert y.size == 16000 * 0.6
    assert abs(_peak_hz(y[2000:], 16000) - 500) < 5


def test_decoder_accepts_any_packet_duration_and_survives_garbage() -> None:
    x = _sine(300, 0.12, 16000)
    dec = OpusDecoder(16000)
    for ms in (20, 40, 60, 120):  # the hello says 60; devices in the wild send 20
        packet = OpusEncoder(16000, ms).encode(x[: 16 * ms])[0]
        assert dec.decode(packet).size == 16 * ms
    rng = np.random.default_rng(7)
    errors = 0
    for _ in range(500):
        junk = rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8).tobytes()
        try:
            out = dec.decode(junk)
        except OpusError:
            errors += 1
            continue
        assert out.size <= 16000 * 120 // 1000
    assert errors > 0
    with pytest.raises(OpusError):
        dec.decode(b"")
    assert dec.decode(OpusEncoder(16000, 60).encode(x[:960])[0]).size == 960  # still works


def test_encoder_refuses_rates_opus_cannot_do() -> None:
    with pytest.raises(OpusError):
        OpusEncoder(22050, 60)
    with pytest.raises(OpusError):
        OpusEncoder(24000, 50)
