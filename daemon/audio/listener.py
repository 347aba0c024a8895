"""Listener: the sans-I/O state machine that turns a device's microphone stream into
utterances. No sockets, no asyncio, no threads: feed it PCM, act on the events it returns.

Modes (from the device's ``listen start``):
- ``auto``: VAD decides where speech ends; after one utterance the listener stops until the
  next ``listen start`` (the device listens again after our ``tts stop``).
- ``manual``: everything until ``listen stop`` is one utterance (if it holds any speech).
- ``realtime``: like auto but keeps listening, also while we speak; ``SpeechStarted`` is the
  session's cue to stop speaking (barge-in).

Audio that arrives while not listening (e.g. the wake word, sent before ``listen start``) is
dropped; ``discard()`` drops what was buffered (a detected wake word inside a listening window).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from daemon.audio.vad import RATE, Vad
from daemon.config import VadConfig

__all__ = ["Event", "Listener", "SpeechStarted", "Utterance"]

KEEP_TRAILING_MS = 300


@dataclass(frozen=True)
class SpeechStarted:
    """Speech has gone on for ``barge_in_ms``: the user is talking."""


@dataclass(frozen=True)
class Utterance:
    pcm: np.ndarray  # int16, 16 kHz
    reason: str  # "silence" | "stop" | "max_length"
    speech_ms: int

    @property
    def duration_s(self) -> float:
        return self.pcm.size / RATE


Event = SpeechStarted | Utterance


def _ms(samples: int) -> int:
    return samples * 1000 // RATE


class Listener:
    def __init__(self, vad: Vad, cfg: VadConfig) -> None:
        self.vad = vad
        self.cfg = cfg
        self.mode: str | None = None
        self._w = vad.window
        self._neg = max(cfg.threshold - 0.15, cfg.threshold / 2)
        self._max_samples = int(cfg.max_utterance_s * RATE)
        self._pending = np.zeros(0, np.int16)
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, cfg.pre_roll_ms * RATE // 1000 // self._w))
        self._seg: list[np.ndarray] | None = None
        self._seg_samples = 0
        self._speech = 0  # speech samples in the segment
        self._silence = 0  # trailing silence samples
        self._announced = False
        self.windows = 0  # VAD windows run since start (for tests and stats)

    @property
    def listening(self) -> bool:
        return self.mode is not None

    @property
    def in_speech(self) -> bool:
        return self._seg is not None and self._speech > 0

    def start(self, mode: str) -> None:
        self._reset()
        self.vad.reset()
        self.mode = mode if mode in ("auto", "manual", "realtime") else "auto"

    def stop(self) -> list[Event]:
        """``listen stop``: in manual mode the held audio becomes the utterance."""
        events: list[Event] = []
        if self.mode is not None and self._seg is not None:
            if self._speech * 1000 >= self.cfg.min_speech_ms * RATE:
                events.append(self._emit("stop", trim=self.mode != "manual"))
        self._reset()
        self.mode = None
        return events

    def discard(self) -> None:
        """Forget what was buffered (wake-word audio), keep listening."""
        mode = self.mode
        self._reset()
        self.mode = mode

    def feed(self, pcm: np.ndarray) -> list[Event]:
        if self.mode is None or pcm.size == 0:
            return []
        events: list[Event] = []
        data = np.concatenate([self._pending, pcm.astype(np.int16, copy=False)])
        n = data.size - data.size % self._w
        for i in range(0, n, self._w):
            if self.mode is None:  # auto mode ended inside this chunk
                break
            events.extend(self._window(data[i : i + self._w]))
        self._pending = data[n:].copy() if self.mode is not None else np.zeros(0, np.int16)
        return events

    # -- internals ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._pending = np.zeros(0, np.int16)
        self._preroll.clear()
        self._seg = None
        self._seg_samples = self._speech = self._silence = 0
        self._announced = False

    def _window(self, w: np.ndarray) -> list[Event]:
        self.windows += 1
        p = self.vad.prob(w)
        speaking = p >= (self._neg if self._speech else self.cfg.threshold)
        if self._seg is None:
            if not speaking and self.mode != "manual":
                self._preroll.append(w)
                return []
            self._seg = [*self._preroll] if self.mode != "manual" else []
            self._seg_samples = sum(x.size for x in self._seg)
            self._preroll.clear()
        self._seg.append(w)
        self._seg_samples += w.size
        if speaking:
            self._speech += w.size
            self._silence = 0
        else:
            self._silence += w.size
        events: list[Event] = []
        if not self._announced and self._speech * 1000 >= max(self.cfg.barge_in_ms, 1) * RATE:
            self._announced = True
            events.append(SpeechStarted())
        if self.mode != "manual" and self._silence * 1000 >= self.cfg.silence_ms * RATE:
            if self._speech * 1000 >= self.cfg.min_speech_ms * RATE:
                events.append(self._emit("silence", trim=True))
                if self.mode == "auto":
                    self._reset()
                    self.mode = None
                    return events
            self._reset()
        elif self._seg_samples >= self._max_samples:
            if self._speech * 1000 >= self.cfg.min_speech_ms * RATE:
                events.append(self._emit("max_length", trim=False))
                if self.mode == "auto":
                    self._reset()
                    self.mode = None
                    return events
            self._seg, self._seg_samples, self._speech, self._silence = None, 0, 0, 0
            self._announced = False
        return events

    def _emit(self, reason: str, *, trim: bool) -> Utterance:
        assert self._seg is not None
        pcm = np.concatenate(self._seg)
        if trim:
            extra = self._silence - KEEP_TRAILING_MS * RATE // 1000
            if extra > 0:
                pcm = pcm[: pcm.size - extra]
        utt = Utterance(pcm=pcm, reason=reason, speech_ms=_ms(self._speech))
        self._seg, self._seg_samples, self._speech, self._silence = None, 0, 0, 0
        self._announced = False
        return utt
