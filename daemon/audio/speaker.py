"""Speaker: one turn's voice. Sentences go in as the LLM produces them; for each one it sends
``tts sentence_start`` and then that sentence's Opus frames, paced in real time. Synthesis of the
next sentence overlaps the playback of the current one, so the first audio leaves as soon as
the first sentence is ready, before the LLM has finished; a TTS that can ``stream`` (Kokoro)
is asked for one clause at a time, so the first clause is played while the next is made.

``close()`` (an abort, a barge-in) stops everything at once: no frame is sent after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from daemon.audio.opus import OpusEncoder
from daemon.audio.pacer import Pacer
from daemon.audio.pcm import resample
from daemon.audio.tts import Speech, Synthesizer, TtsError
from daemon.protocol import FRAME_OPUS, AudioParams, BinaryFrame, ServerMessage, Tts, encode_frame

__all__ = ["Speaker", "SpeakerStats"]

log = logging.getLogger(__name__)

SendJson = Callable[[ServerMessage], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]


@dataclass
class SpeakerStats:
    sentences: int = 0
    frames: int = 0
    audio_s: float = 0.0
    synth_s: float = 0.0
    first_frame_at: float | None = None  # time.perf_counter() of the first frame sent
    first_synth_s: float | None = None


class Speaker:
    def __init__(
        self, tts: Synthesizer, executor: Executor | None, out: AudioParams, protocol_version: int,
        send_json: SendJson, send_bytes: SendBytes, *, prebuffer: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.tts = tts
        self.executor = executor
        self.out = out
        self.version = protocol_version
        self.send_json = send_json
        self.send_bytes = send_bytes
        self.encoder = OpusEncoder(out.sample_rate, out.frame_duration)
        self.pacer = Pacer(self._send_frame, out.frame_duration / 1000, prebuffer,
                           clock=clock, sleep=sleep)
        self.stats = SpeakerStats()
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self._ready: asyncio.Queue[tuple[str, list[bytes], bool] | None] = asyncio.Queue(maxsize=2)
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._ts_ms = 0

    # -- the runner's side ------------------------------------------------------------------

    async def say(self, sentence: str) -> None:
        if self._closed:
            return
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._synth_loop()),
                           asyncio.create_task(self._play_loop())]
        await self._sentences.put(sentence)

    async def finish(self) -> None:
        """Wait until every sentence said so far has been sent (paced)."""
        if not self._tasks or self._closed:
            return
        await self._sentences.put(None)
        await asyncio.gather(*self._tasks)
        self._tasks = []

    async def close(self) -> None:
        self._closed = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []

    # -- internals --------------------------------------------------------------------------

    def _pieces(self, sentence: str) -> Iterator[Speech]:
        """Blocking: the sentence's speech, clause by clause when the TTS can stream."""
        stream = getattr(self.tts, "stream", None)
        if stream is not None:
            return iter(stream(sentence))
        return iter([self.tts.synthesize(sentence)])

    def _encode(self, speech: Speech) -> list[bytes]:
        """Blocking: speech -> Opus packets at the hello's rate."""
        pcm = resample(speech.pcm, speech.rate, self.out.sample_rate)
        if pcm.size:
            pcm = np.concatenate([pcm, np.zeros(self.encoder.frame_samples // 2, np.int16)])
        return self.encoder.encode(pcm) if pcm.size else []

    def _next(self, pieces: Iterator[Speech]) -> tuple[list[bytes], Speech] | None:
        """Blocking (on the executor): synthesise and encode the next clause; None at the end."""
        speech = next(pieces, None)
        return None if speech is None else (self._encode(speech), speech)

    async def _synth_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while (sentence := await self._sentences.get()) is not None:
            first = True
            try:
                pieces = await loop.run_in_executor(self.executor, self._pieces, sentence)
                # one clause per executor call: an abort waits for one clause at most
                while (item := await loop.run_in_executor(self.executor, self._next, pieces)):
                    frames, speech = item
                    if self.stats.first_synth_s is None:
                        self.stats.first_synth_s = speech.synth_s
                    self.stats.synth_s += speech.synth_s
                    self.stats.audio_s += speech.duration_s
                    await self._ready.put((sentence, frames, first))
                    first = False
            except TtsError as exc:
                log.error("speech synthesis failed (%s): sentence sent as text only", exc)
            except Exception:
                log.exception("speech synthesis failed: sentence sent as text only")
            if first:  # nothing spoken: the device still gets the sentence's text
                await self._ready.put((sentence, [], True))
        await self._ready.put(None)

    async def _play_loop(self) -> None:
        while (item := await self._ready.get()) is not None:
            sentence, frames, first = item
            if first:
                await self.send_json(Tts(state="sentence_start", text=sentence))
                self.stats.sentences += 1
            for frame in frames:
                await self.pacer.send(frame)
        # let the device play what it holds before the runner says `tts stop`
        await asyncio.sleep(self.pacer.remaining_s())

    async def _send_frame(self, packet: bytes) -> None:
        if self._closed:
            raise asyncio.CancelledError
        data = encode_frame(self.version, BinaryFrame(FRAME_OPUS, packet, self._ts_ms))
        self._ts_ms += self.out.frame_duration
        if self.stats.first_frame_at is None:
            self.stats.first_frame_at = time.perf_counter()
        self.stats.frames += 1
        await self.send_bytes(data)
