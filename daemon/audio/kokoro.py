"""Kokoro-82M (v1.0, int8 ONNX, onnxruntime): natural Mandarin and English speech, 24 kHz.

Each clause is cut into script runs; Chinese runs are read by the zh voice, Latin runs
(English words inside Chinese too) by the en voice, so neither is garbled. ``stream`` yields one
clause at a time so the first one is played while the next is synthesised. When Kokoro fails on
a clause (a broken voice file, phonemes it cannot read, onnxruntime errors) that clause is
spoken by the fallback voice (espeak-ng) instead, with one log line, and the turn goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from daemon.audio.g2p import EnglishG2P, MandarinG2P
from daemon.audio.kokoro_vocab import VOCAB
from daemon.audio.textsplit import clauses, script_runs
from daemon.audio.tts import Speech, Synthesizer, TtsError, clean_text
from daemon.config import TtsConfig
from daemon.modelfiles import CATALOG, INSTALL_HINT, ModelMissingError, find_model

__all__ = ["KokoroTts", "resolve_kokoro"]

log = logging.getLogger(__name__)
RATE = 24000
MAX_TOKENS = 510  # the model's context (the voice packs hold one style per length up to it)
STYLE_DIM = 256
PAUSE_S = {",": 0.12, "，": 0.12, "、": 0.1, ";": 0.2, "；": 0.2, ":": 0.15, "：": 0.15}
END_PAUSE_S = 0.2


def resolve_kokoro(name: str, models_dir: Path) -> Path:
    """The installed Kokoro folder (model + voices), or ModelMissingError with the fix."""
    spec = CATALOG.get(name)
    folder = find_model(spec, models_dir) if spec is not None else models_dir / name
    if folder is None or not (folder / "kokoro-v1.0.int8.onnx").is_file():
        raise ModelMissingError(f"Kokoro voice model '{name}' is not installed in {models_dir}",
                                fix=f"{INSTALL_HINT} {name}")
    return folder


def load_voice_pack(path: Path) -> np.ndarray:
    """A kokoro-js voice file: float32 [510, 1, 256] -> [510, 256]."""
    if not path.is_file():
        raise TtsError(f"Kokoro voice file {path} is missing (`{INSTALL_HINT} --force kokoro-82m`)")
    data = np.fromfile(path, dtype=np.float32)
    if data.size != MAX_TOKENS * STYLE_DIM or not np.isfinite(data).all():
        raise TtsError(f"Kokoro voice file {path} is damaged ({data.size} values)")
    return data.reshape(MAX_TOKENS, STYLE_DIM)


def tokens(phonemes: str) -> list[int]:
    """Phoneme string -> Kokoro token ids (unknown symbols are left out)."""
    return [VOCAB[c] for c in phonemes if c in VOCAB]


def trim(audio: np.ndarray, threshold: float = 0.01, pad_s: float = 0.04) -> np.ndarray:
    """Leading and trailing near-silence off (Kokoro adds some; it would delay the first word)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(pad_s * RATE)
    return audio[max(0, loud[0] - pad) : loud[-1] + pad]


class KokoroTts:
    """The Kokoro provider. ``synthesize`` = the whole text; ``stream`` = clause by clause."""

    def __init__(self, folder: Path, cfg: TtsConfig, fallback: Synthesizer | None, *,
                 session: Any = None) -> None:
        self.cfg = cfg
        self.fallback = fallback
        self.rate = RATE
        self.name = f"kokoro:{cfg.kokoro_voice_zh}+{cfg.kokoro_voice_en}"
        self.voices = {"zh": load_voice_pack(folder / f"{cfg.kokoro_voice_zh}.bin"),
                       "en": load_voice_pack(folder / f"{cfg.kokoro_voice_en}.bin")}
        self.g2p = {"zh": MandarinG2P(), "en": EnglishG2P()}
        if session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = cfg.kokoro_threads
            opts.inter_op_num_threads = 1
            # idle threads must not spin: Whisper and the LLM share these cores
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(str(folder / "kokoro-v1.0.int8.onnx"), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
        self.session = session
        self._fallbacks = 0
        self._infer(tokens("hə"), "en")  # first run allocates: not during a turn

    def _infer(self, ids: list[int], lang: str) -> np.ndarray:
        ids = ids[: MAX_TOKENS - 2]
        style = self.voices[lang][len(ids)]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": style.reshape(1, STYLE_DIM).astype(np.float32),
            "speed": np.array([self.cfg.kokoro_speed], dtype=np.float32),
        })[0]
        return np.asarray(audio, np.float32).ravel()

    def _clause(self, clause: str) -> np.ndarray:
        """One clause, every script run in its own voice, as float audio at 24 kHz."""
        parts: list[np.ndarray] = []
        for lang, run in script_runs(clause):
            ids = tokens(self.g2p[lang](run))
            if not ids:
                continue
            for start in range(0, len(ids), MAX_TOKENS - 2):  # a longer run: cut, not dropped
                parts.append(trim(self._infer(ids[start : start + MAX_TOKENS - 2], lang)))
        if not parts:
            raise TtsError(f"Kokoro made no sound for {clause!r}")
        pause = PAUSE_S.get(clause.rstrip()[-1:], END_PAUSE_S)
        parts.append(np.zeros(int(pause * RATE), np.float32))
        return np.concatenate(parts)

    def _fallback(self, clause: str, exc: Exception) -> Speech:
        self._fallbacks += 1
        if self.fallback is None:
            raise TtsError(f"Kokoro failed ({exc}) and no fallback voice is set up") from None
        if self._fallbacks <= 3 or self._fallbacks % 100 == 0:  # a broken model must not flood
            log.warning("Kokoro failed on %r (%s): spoken by %s instead (%d so far)", clause[:40],
                        exc, self.fallback.name, self._fallbacks)
        return self.fallback.synthesize(clause)

    def stream(self, text: str) -> Iterator[Speech]:
        """One Speech per clause, each as soon as it is synthesised (blocking)."""
        text = clean_text(text)
        budget = int(self.cfg.max_sentence_s * RATE)
        for clause in clauses(text):
            t0 = time.perf_counter()
            try:
                audio = self._clause(clause)
            except Exception as exc:  # onnxruntime / G2P errors: speak it another way
                yield self._fallback(clause, exc)
                continue
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)[:budget]
            budget -= pcm.size
            yield Speech(pcm, RATE, time.perf_counter() - t0)
            if budget <= 0:
                return

    def synthesize(self, text: str) -> Speech:
        t0 = time.perf_counter()
        pieces = [s for s in self.stream(text) if s.pcm.size]
        if not pieces:
            return Speech(np.zeros(0, np.int16), RATE)
        rate = pieces[0].rate
        pcm = np.concatenate([_at_rate(s, rate) for s in pieces])
        return Speech(pcm, rate, time.perf_counter() - t0)


def _at_rate(speech: Speech, rate: int) -> np.ndarray:
    from daemon.audio.pcm import resample

    return speech.pcm if speech.rate == rate else resample(speech.pcm, speech.rate, rate)
