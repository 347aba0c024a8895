"""Speech recognition behind a small protocol; default: faster-whisper with a local Whisper.

``transcribe`` is blocking (run it off the event loop: ``AsrWorker`` does). Every call is capped
in tokens (by a limit that grows with the audio's length) and in time, and a transcript the model
itself doubts (no-speech probability, low log-probability, a repetition loop, a known Whisper
hallucination) comes back empty with ``dropped`` saying why: nothing then reaches the LLM.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from daemon.audio.asrtext import choose_language, normalise
from daemon.audio.pcm import to_float
from daemon.config import AsrConfig

__all__ = ["Asr", "AsrWorker", "FasterWhisperAsr", "SegmentStats", "Transcript", "judge"]

log = logging.getLogger(__name__)
RATE = 16000
PAD_MS = 200  # silence added around each utterance

# Phrases Whisper produces from silence or noise (subtitle credits learned from video data).
HALLUCINATIONS = (
    "subtitles by", "amara.org", "thanks for watching", "thank you for watching",
    "please subscribe", "字幕", "明镜", "点赞", "订阅", "谢谢观看", "感谢观看", "请不吝",
)


@dataclass
class Transcript:
    text: str
    language: str = ""
    audio_s: float = 0.0
    decode_s: float = 0.0
    dropped: str = ""  # why the text was dropped ("" = kept)

    @property
    def rtf(self) -> float:
        return self.decode_s / self.audio_s if self.audio_s else 0.0


class Asr(Protocol):
    name: str

    def transcribe(self, pcm: np.ndarray, hotwords: str = "") -> Transcript:
        """Blocking: 16 kHz mono int16 PCM -> transcript (text "" when nothing usable);
        ``hotwords``: words this speaker is likely to say (names from their memories)."""
        ...


@dataclass(frozen=True)
class SegmentStats:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


def judge(segments: list[SegmentStats], cfg: AsrConfig, *, hit_token_cap: bool = False) -> str:
    """Why these segments are not a usable utterance ("" = usable). Pure."""
    text = "".join(s.text for s in segments).strip()
    if not re.search(r"\w", text):
        return "no text"
    if hit_token_cap:
        return "token cap reached (repetition loop?)"
    worst_logprob = min(s.avg_logprob for s in segments)
    worst_ratio = max(s.compression_ratio for s in segments)
    no_speech = max(s.no_speech_prob for s in segments)
    if no_speech > cfg.max_no_speech_prob and worst_logprob < -0.5:
        return f"no speech (p={no_speech:.2f})"
    if worst_logprob < cfg.min_avg_logprob:
        return f"low confidence (avg logprob {worst_logprob:.2f})"
    if worst_ratio > cfg.max_compression_ratio:
        return f"repetitive (compression ratio {worst_ratio:.1f})"
    low = text.casefold()
    if any(h in low for h in HALLUCINATIONS):
        return "known hallucination"
    return ""


def token_cap(audio_s: float, cfg: AsrConfig) -> int:
    return max(8, min(cfg.max_tokens, 16 + int(8 * audio_s)))


class FasterWhisperAsr:
    def __init__(self, folder: Path, cfg: AsrConfig, *, model: Any = None) -> None:
        self.cfg = cfg
        self.name = f"faster-whisper:{folder.name}"
        if model is None:
            from faster_whisper import WhisperModel

            model = WhisperModel(str(folder), device="cpu", compute_type=cfg.compute_type,
                                 cpu_threads=cfg.n_threads, local_files_only=True)
        self.model = model
        self.language = None if cfg.language in ("", "auto") else cfg.language
        self._share_encoder_output()

    @property
    def encoder_reuses(self) -> int:
        return int(self.model._xz_encoder_reuses[0])

    def _share_encoder_output(self) -> None:
        """Language detection and transcription each run the encoder on the same 30 s window;
        remember the last output so ``language: auto`` costs one encoder pass, not two."""
        if hasattr(self.model, "_xz_encoder_reuses"):
            return  # a model shared by two providers is wrapped once
        encode = self.model.encode
        last: list[Any] = [None, None]
        reuses = [0]

        def cached_encode(features: np.ndarray) -> Any:
            key = hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()
            if last[0] == key:
                reuses[0] += 1
                return last[1]
            out = encode(features)
            last[0], last[1] = key, out
            return out

        self.model.encode = cached_encode
        self.model._xz_encoder_reuses = reuses

    def detect(self, audio: np.ndarray) -> tuple[str, list[tuple[str, float]]]:
        """The household's language for float audio (see ``choose_language``) and Whisper's
        own probabilities; the encoder output is kept for the transcription that follows."""
        # the frames transcribe() will encode (it leaves out the last one): same encoder input
        features = self.model.feature_extractor(audio)[..., :-1]
        _lang, _prob, probs = self.model.detect_language(features=features)
        return choose_language(probs, self.cfg.languages, self.cfg.other_language_min_prob), probs

    def transcribe(self, pcm: np.ndarray, hotwords: str = "") -> Transcript:
        t0 = time.perf_counter()
        audio_s = pcm.size / RATE
        out = Transcript(text="", audio_s=audio_s)
        if pcm.size < RATE // 10:
            out.dropped = "too short"
            return out
        pad = np.zeros(PAD_MS * RATE // 1000, np.float32)  # Whisper mishears speech at the very edge
        audio = np.concatenate([pad, to_float(pcm), pad])
        language = self.language
        if language is None:
            language, _probs = self.detect(audio)
        out.language = language
        cap = token_cap(audio_s, self.cfg)
        segments_iter, _info = self.model.transcribe(
            audio, language=language, task="transcribe", beam_size=self.cfg.beam_size,
            temperature=0.0, condition_on_previous_text=False, without_timestamps=True,
            initial_prompt=self.cfg.initial_prompts.get(language) or None,
            hotwords=hotwords or None, vad_filter=False, max_new_tokens=cap, suppress_blank=True,
            compression_ratio_threshold=None, log_prob_threshold=None, no_speech_threshold=None,
        )
        segments: list[SegmentStats] = []
        hit_cap = False
        for seg in segments_iter:
            segments.append(SegmentStats(seg.text, seg.avg_logprob, seg.no_speech_prob,
                                         seg.compression_ratio))
            hit_cap = hit_cap or len(seg.tokens) >= cap
            if time.perf_counter() - t0 > self.cfg.max_decode_s:
                out.dropped = f"decode took over {self.cfg.max_decode_s:.0f} s"
                break
        out.decode_s = time.perf_counter() - t0
        if out.dropped:
            return out
        out.dropped = judge(segments, self.cfg, hit_token_cap=hit_cap) if segments else "no text"
        if not out.dropped:
            out.text = normalise("".join(s.text for s in segments), self.cfg.chinese_script)
        return out


class AsrWorker:
    """Runs one ``Asr`` on its own thread, one utterance at a time (they would only compete
    for the same cores), and stops waiting after ``timeout_s``."""

    def __init__(self, asr: Asr, timeout_s: float) -> None:
        self.asr = asr
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")

    async def transcribe(self, pcm: np.ndarray, hotwords: str = "") -> Transcript:
        loop = asyncio.get_running_loop()
        call = functools.partial(self.asr.transcribe, pcm, hotwords) if hotwords else \
            functools.partial(self.asr.transcribe, pcm)
        fut = loop.run_in_executor(self._pool, call)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.timeout_s)
        except asyncio.TimeoutError:
            log.warning("speech recognition took over %.0f s: utterance dropped", self.timeout_s)
            return Transcript(text="", audio_s=pcm.size / RATE, decode_s=self.timeout_s,
                              dropped="timeout")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
