"""Speech synthesis behind a small protocol: espeak-ng (default; Mandarin and English) and
piper (natural English voice, optional). ``synthesize`` is blocking: run it off the loop."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from daemon.audio.pcm import parse_wav
from daemon.config import TtsConfig
from daemon.text import has_han

__all__ = ["EspeakTts", "PiperTts", "Speech", "Synthesizer", "TtsError", "clean_text"]

_MARKUP = re.compile(r"[*_#`~|<>\[\]{}^\\]+")


class TtsError(Exception):
    """Synthesis failed (engine missing, crashed, timed out)."""


@dataclass
class Speech:
    pcm: np.ndarray  # int16 mono
    rate: int
    synth_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.pcm.size / self.rate if self.rate else 0.0


class Synthesizer(Protocol):
    """A text-to-speech engine (espeak-ng, Piper, Kokoro): one sentence in, PCM out. Not to be
    confused with ``daemon.protocol.Tts``, the ``tts`` message a device receives."""

    name: str

    def synthesize(self, text: str) -> Speech: ...


def clean_text(text: str) -> str:
    """What a voice should read: no markdown, no emoji or other pictographs."""
    text = _MARKUP.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("So", "Cs", "Co", "Cn"))
    return re.sub(r"\s+", " ", text).strip()


class EspeakTts:
    """espeak-ng as a subprocess (text on stdin, WAV on stdout, 22,050 Hz). Sentences with
    Chinese characters go to ``voice_zh`` (``cmn-latn-pinyin`` reads hanzi, digits and, with
    its own switch, English words), others to ``voice_en``."""

    def __init__(self, cfg: TtsConfig, binary: str | None = None) -> None:
        found = binary or shutil.which("espeak-ng")
        if not found:
            raise TtsError("espeak-ng is not installed (sudo apt-get install espeak-ng)")
        self.binary = found
        self.cfg = cfg
        self.name = "espeak-ng"
        known = self._voices()
        for voice in (cfg.voice_en, cfg.voice_zh):  # espeak-ng silently falls back: check now
            if voice.split("+")[0].casefold() not in known:
                raise TtsError(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
        self._run("test", cfg.voice_en)

    def _voices(self) -> set[str]:
        try:
            out = subprocess.run([self.binary, "--voices"], capture_output=True, text=True,
                                 timeout=20, check=True).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise TtsError(f"espeak-ng does not run: {exc}") from None
        names: set[str] = set()
        for line in out.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5:  # Pty Language Age/Gender VoiceName File [Other Languages]
                names.update(x.casefold() for x in (cols[1], cols[3], cols[4].rsplit("/", 1)[-1]))
        return names

    def voice_for(self, text: str) -> str:
        return self.cfg.voice_zh if has_han(text) else self.cfg.voice_en

    def _run(self, text: str, voice: str) -> np.ndarray:
        try:
            proc = subprocess.run(
                [self.binary, "-v", voice, "-s", str(self.cfg.speed_wpm), "--stdout", "--stdin"],
                input=text.encode("utf-8"), capture_output=True, timeout=20, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TtsError(f"espeak-ng failed: {exc}") from None
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode(errors="replace").strip()[:200]
            raise TtsError(f"espeak-ng voice {voice!r} failed: {err or proc.returncode}")
        pcm, rate = parse_wav(proc.stdout)
        self.rate = rate
        return pcm

    def synthesize(self, text: str) -> Speech:
        t0 = time.perf_counter()
        text = clean_text(text)
        if not text:
            return Speech(np.zeros(0, np.int16), 22050)
        pcm = self._run(text, self.voice_for(text))
        pcm = pcm[: int(self.cfg.max_sentence_s * self.rate)]
        return Speech(pcm, self.rate, time.perf_counter() - t0)


class PiperTts:
    """piper (onnx voice, English). Chinese sentences fall back to espeak-ng."""

    def __init__(self, model: Path, cfg: TtsConfig, fallback: Synthesizer | None) -> None:
        from piper import PiperVoice

        self.voice = PiperVoice.load(str(model))
        self.rate = int(self.voice.config.sample_rate)
        self.cfg = cfg
        self.fallback = fallback
        self.name = f"piper:{model.stem}"

    def synthesize(self, text: str) -> Speech:
        t0 = time.perf_counter()
        text = clean_text(text)
        if not text:
            return Speech(np.zeros(0, np.int16), self.rate)
        if has_han(text):
            if self.fallback is None:
                raise TtsError("piper voice is English only and no fallback voice is set up")
            return self.fallback.synthesize(text)
        try:
            chunks = [c.audio_int16_array for c in self.voice.synthesize(text)]
        except Exception as exc:  # onnxruntime / phonemizer errors
            raise TtsError(f"piper failed: {exc}") from None
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        pcm = pcm[: int(self.cfg.max_sentence_s * self.rate)]
        return Speech(pcm.astype(np.int16), self.rate, time.perf_counter() - t0)
