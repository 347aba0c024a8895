"""Real-time pacing and the per-turn speaker (fake clock; real Opus encoder and framing)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from daemon.audio.opus import OpusDecoder
from daemon.audio.pacer import Pacer
from daemon.audio.speaker import Speaker
from daemon.audio.tts import Speech, TtsError
from daemon.protocol import AudioParams, Tts, decode_frame


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s
        await asyncio.sleep(0)


async def test_pacer_prebuffers_then_sends_one_frame_per_duration() -> None:
    clock = FakeClock()
    sent: list[float] = []

    async def send(frame: bytes) -> None:
        sent.append(clock.t)

    pacer = Pacer(send, 0.06, prebuffer=3, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        await pacer.send(b"x")
    offsets = [round(t - 100.0, 3) for t in sent]
    assert offsets == [0, 0, 0, 0, 0.06, 0.12, 0.18, 0.24, 0.30, 0.36]
    assert pacer.remaining_s() == pytest.approx(0.6 - 0.36)


async def test_pacer_restarts_with_a_prebuffer_after_running_dry() -> None:
    clock = FakeClock()
    sent: list[float] = []

    async def send(frame: bytes) -> None:
        sent.append(clock.t)

    pacer = Pacer(send, 0.06, prebuffer=2, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        await pacer.send(b"x")
    clock.t += 5.0  # a long pause (the next sentence was slow to come)
    for _ in range(4):
        await pacer.send(b"x")
    offsets = [round(t - sent[4], 3) for t in sent[4:]]
    assert offsets == [0, 0, 0, 0.06] and pacer.restarts == 1


async def test_pacer_holds_real_time_without_drift() -> None:
    sent: list[float] = []

    async def send(frame: bytes) -> None:
        sent.append(time.monotonic())

    pacer = Pacer(send, 0.02, prebuffer=2)
    t0 = time.monotonic()
    for _ in range(27):
        await pacer.send(b"x")
    took = sent[-1] - t0
    assert 0.475 <= took < 0.6  # frame 26 is due 24 frames (of 20 ms) after the start


class ToneTts:
    """Half a second of tone per word: deterministic lengths."""

    name = "tone"

    def __init__(self, fail_on: str = "") -> None:
        self.fail_on = fail_on
        self.calls: list[str] = []

    def synthesize(self, text: str) -> Speech:
        self.calls.append(text)
        if self.fail_on and self.fail_on in text:
            raise TtsError("boom")
        n = len(text.split()) * 11025
        t = np.arange(n) / 22050
        return Speech((6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16), 22050, 0.001)


class Wire:
    def __init__(self) -> None:
        self.items: list[object] = []

    async def json(self, msg: object) -> None:
        self.items.append(msg)

    async def binary(self, data: bytes) -> None:
        self.items.append(data)

    def frames(self) -> list[bytes]:
        return [x for x in self.items if isinstance(x, bytes)]


def make_speaker(wire: Wire, tts: ToneTts, version: int = 1, **kw) -> Speaker:
    return Speaker(tts, None, AudioParams(sample_rate=24000, frame_duration=60), version,
                   wire.json, wire.binary, prebuffer=3, **kw)


async def test_each_sentence_start_precedes_its_frames() -> None:
    wire, clock = Wire(), FakeClock()
    sp = make_speaker(wire, ToneTts(), clock=clock, sleep=clock.sleep)
    await sp.say("one two")
    await sp.say("three")
    await sp.finish()
    starts = [i for i, x in enumerate(wire.items) if isinstance(x, Tts)]
    assert [wire.items[i].text for i in starts] == ["one two", "three"]  # type: ignore[attr-defined]
    assert starts[0] == 0
    first = starts[1] - starts[0] - 1
    second = len(wire.items) - starts[1] - 1
    assert first == 18 and second == 9  # 1.0 s and 0.5 s (+ half a frame of tail) at 60 ms
    dec = OpusDecoder(24000, 1, out_rate=24000)
    pcm = np.concatenate([dec.decode(f) for f in wire.frames()])
    assert pcm.size == 27 * 1440 and np.abs(pcm).max() > 3000
    assert sp.stats.frames == 27 and sp.stats.first_frame_at is not None
    assert sp.stats.audio_s == pytest.approx(1.5)


@pytest.mark.parametrize("version", [2, 3])
async def test_frames_use_the_devices_framing_version(version: int) -> None:
    wire, clock = Wire(), FakeClock()
    sp = make_speaker(wire, ToneTts(), version, clock=clock, sleep=clock.sleep)
    await sp.say("hello")
    await sp.finish()
    frames = [decode_frame(version, f) for f in wire.frames()]
    assert all(f.type == 0 and f.payload for f in frames)
    if version == 2:
        assert [f.timestamp_ms for f in frames[:3]] == [0, 60, 120]


async def test_a_failed_sentence_is_text_only_and_the_turn_goes_on() -> None:
    wire, clock = Wire(), FakeClock()
    sp = make_speaker(wire, ToneTts(fail_on="bad"), clock=clock, sleep=clock.sleep)
    for s in ("good one", "bad one", "last"):
        await sp.say(s)
    await sp.finish()
    texts = [x.text for x in wire.items if isinstance(x, Tts)]
    assert texts == ["good one", "bad one", "last"]
    assert len(wire.frames()) == 18 + 9


async def test_close_stops_audio_at_once() -> None:
    wire = Wire()
    sp = make_speaker(wire, ToneTts())  # real clock: 60 ms per frame after the pre-buffer
    await sp.say("a long sentence of many words to speak slowly")  # 4.5 s of audio
    await asyncio.sleep(0.4)
    await sp.close()
    n = len(wire.frames())
    assert 3 <= n <= 12
    await asyncio.sleep(0.3)
    assert len(wire.frames()) == n
    await sp.say("more")  # ignored after close
    await sp.finish()
    assert len(wire.frames()) == n


async def test_synthesis_overlaps_playback() -> None:
    wire = Wire()
    tts = ToneTts()
    sp = make_speaker(wire, tts)
    await sp.say("one two three four")  # 2 s of audio
    await sp.say("five")
    await asyncio.sleep(0.3)
    assert tts.calls == ["one two three four", "five"]  # the second is ready long before needed
    await sp.close()


class ClauseTts(ToneTts):
    """Streams one piece per comma-separated clause (as Kokoro does), each taking `delay_s`."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.clauses: list[str] = []

    def stream(self, text: str):  # type: ignore[no-untyped-def]
        for clause in text.split(","):
            time.sleep(self.delay_s)
            self.clauses.append(clause)
            yield super().synthesize(clause)


async def test_a_streaming_voice_sends_one_sentence_start_and_every_clause() -> None:
    wire, clock = Wire(), FakeClock()
    tts = ClauseTts()
    sp = make_speaker(wire, tts, clock=clock, sleep=clock.sleep)
    await sp.say("one two, three, four")
    await sp.say("five")
    await sp.finish()
    starts = [x.text for x in wire.items if isinstance(x, Tts)]
    assert starts == ["one two, three, four", "five"]
    assert tts.clauses == ["one two", " three", " four", "five"]
    assert sp.stats.audio_s == pytest.approx(2.5)
    assert wire.items.index(next(x for x in wire.items if isinstance(x, Tts) and x.text == "five")) \
        > len(wire.items) - 12  # the second sentence after all clauses of the first


async def test_the_first_clause_plays_before_the_sentence_is_synthesised() -> None:
    wire = Wire()
    tts = ClauseTts(delay_s=0.3)
    sp = make_speaker(wire, tts)
    await sp.say("one, two, three, four, five")  # 1.5 s of synthesis in all
    while not wire.frames():
        await asyncio.sleep(0.01)
    assert len(tts.clauses) < 5  # audio left before the last clause was made
    await sp.close()
    n = len(wire.frames())
    await asyncio.sleep(0.7)  # clauses still being made when it closed are never sent
    assert len(wire.frames()) == n
