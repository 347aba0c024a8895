#!/usr/bin/env python3
"""Voice pipeline benchmark: end of speech -> first TTS audio frame, through the daemon's code.

For each spoken test phrase (espeak-ng English, as a device would send it: 16 kHz, Opus-coded
in 60 ms packets, decoded by the server's decoder) the real listener (Silero VAD, auto mode)
finds the end of speech; then the real ASR (faster-whisper, Whisper base), the real
``TurnRunner`` (memory lookup over a user with ``--memories`` stored memories, prompt, LLM,
sentence splitting) and the real ``Speaker`` (TTS, resampling, Opus encoding, pacing) run
exactly as for a device. Prints, per phrase and as medians:

* VAD wait: audio time from the last speech sample to the moment the listener ends the
  utterance (the configured ``audio.vad.silence_ms``, rounded to VAD windows) - a real wait;
* processing: utterance end -> first Opus frame handed to the socket, split into ASR, memory
  lookup (``TurnResult.lookup_ms``, shown as a share), LLM to first sentence, TTS of that sentence;
* perceived latency = VAD wait + processing;
* real-time factors of ASR (decode time / audio length) and TTS (synthesis time / audio length).

It prints figures and never asserts them.

Usage::

    .venv/bin/python bench/voice_bench.py                   # scripted LLM, 200 memories
    .venv/bin/python bench/voice_bench.py --llm config      # the configured LLM (SmolLM2 by default)
    .venv/bin/python bench/voice_bench.py --tts piper --language auto --memories 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.audio.listener import Utterance  # noqa: E402
from daemon.audio.opus import OpusDecoder, OpusEncoder  # noqa: E402
from daemon.audio.pcm import parse_wav, resample  # noqa: E402
from daemon.audio.services import build_voice  # noqa: E402
from daemon.config import load_config  # noqa: E402
from daemon.protocol import AudioParams  # noqa: E402
from daemon.server.app import Daemon  # noqa: E402
from daemon.turn import TurnContext  # noqa: E402

PHRASES = [
    "Please turn on the light in the kitchen.",
    "What time is it now?",
    "Where does my sister live?",
    "Tell me a story about a robot.",
    "Turn off the music in the living room.",
    "What should I cook for dinner tonight?",
]
FACTS = ["My sister Anna lives in Hangzhou", "I am allergic to peanuts", "My cat is called Momo",
         "I work as a nurse", "I like jazz music", "My son plays football on Saturdays"]
ANSWER = ("Sure, I can help with that. Here is a short answer for you. "
          "Let me know if you need anything else.")


def espeak_16k(text: str) -> np.ndarray:
    raw = subprocess.run(["espeak-ng", "-v", "en", "--stdout", text], capture_output=True,
                         check=True).stdout
    pcm, rate = parse_wav(raw)
    return resample(pcm, rate, 16000)


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=None, help="config file (default: defaults)")
    ap.add_argument("--llm", choices=["scripted", "config"], default="scripted")
    ap.add_argument("--tts", choices=["espeak-ng", "piper"], default=None)
    ap.add_argument("--language", default="en", help="ASR language (en, zh, auto)")
    ap.add_argument("--memories", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    env = {k: v for k, v in os.environ.items() if k.startswith("XIAOZHI_MEMD_")}
    env.setdefault("XIAOZHI_MEMD_MODELS_DIR", str(ROOT / "models"))
    env["XIAOZHI_MEMD_DATA_DIR"] = str(tmp / "data")
    env["XIAOZHI_MEMD_AUDIO__ASR__LANGUAGE"] = args.language
    if args.tts:
        env["XIAOZHI_MEMD_AUDIO__TTS__PROVIDER"] = args.tts
    if args.llm == "scripted":
        rules = tmp / "rules.json"
        rules.write_text(json.dumps({"rules": [{"match": ".*", "reply": ANSWER}]}))
        env["XIAOZHI_MEMD_LLM__PROVIDER"] = "scripted"
        env["XIAOZHI_MEMD_LLM__SCRIPTED__REPLIES_FILE"] = str(rules)
    cfg = load_config(args.config, environ=env)
    cfg.memory.lookup_timeout_ms = max(cfg.memory.lookup_timeout_ms, 2000)  # measure, don't cut

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    daemon = Daemon(cfg, progress=say)
    await daemon.start_services()
    assert daemon.turns is not None and daemon.memory is not None
    say("loading voice models")
    voice = await asyncio.to_thread(build_voice, cfg)
    user = "bench-user"
    say(f"storing {args.memories} memories for {user}")
    for i in range(args.memories):
        base = FACTS[i % len(FACTS)]
        await daemon.memory.add(base if i < len(FACTS) else f"{base} (note {i})", user_id=user,
                                infer=False)
    out = AudioParams(sample_rate=cfg.server.sample_rate, frame_duration=cfg.server.frame_duration_ms)

    rows = []
    asr_rtf: list[float] = []
    tts_rtf: list[float] = []
    for rep in range(args.repeat):
        for n, phrase in enumerate(PHRASES):
            talk = espeak_16k(phrase)
            audio = np.concatenate([np.zeros(8000, np.int16), talk, np.zeros(32000, np.int16)])
            speech_end_s = (8000 + talk.size) / 16000
            enc, dec = OpusEncoder(16000, 60), OpusDecoder(16000)
            listener = voice.listener()
            listener.start("auto")
            utt: Utterance | None = None
            ended_at_s = 0.0
            for i, packet in enumerate(enc.encode(audio)):
                for ev in listener.feed(dec.decode(packet)):
                    if isinstance(ev, Utterance) and utt is None:
                        utt, ended_at_s = ev, (i + 1) * 0.06
                if utt is not None:
                    break
            if utt is None:
                say(f"no utterance found in {phrase!r}")
                continue
            t_end = time.perf_counter()
            tr = await voice.asr.transcribe(utt.pcm)
            t_asr = time.perf_counter()
            asr_rtf.append(tr.rtf)
            first_frame: list[float] = []

            async def send_json(msg: object) -> None:
                pass

            async def send_bytes(data: bytes, _ff: list[float] = first_frame) -> None:
                if not _ff:
                    _ff.append(time.perf_counter())

            speaker = voice.speaker(out, 1, send_json, send_bytes)
            ctx = TurnContext(session_id=f"bench-{rep}-{n}", user_id=user)
            result = await daemon.turns.run(ctx, tr.text or phrase, send_json, speaker)
            st = speaker.stats
            if st.audio_s:
                tts_rtf.append(st.synth_s / st.audio_s)
            if not first_frame:
                say(f"no audio for {phrase!r}")
                continue
            processing = (first_frame[0] - t_end) * 1000
            asr_ms = (t_asr - t_end) * 1000
            llm_ms = (result.first_sentence_ms or 0) - result.lookup_ms
            rows.append({
                "phrase": phrase, "heard": tr.text, "vad_wait": (ended_at_s - speech_end_s) * 1000,
                "asr": asr_ms, "lookup": result.lookup_ms, "llm": llm_ms,
                "tts": (st.first_synth_s or 0) * 1000, "processing": processing,
            })
            say(f"  {phrase!r} -> {tr.text!r}: {processing:.0f} ms")

    print(f"voice bench: ASR {voice.asr.asr.name} language={args.language}, TTS {voice.tts.name}, "
          f"VAD {cfg.audio.vad.provider} (silence_ms={cfg.audio.vad.silence_ms}), "
          f"LLM {cfg.llm.provider}, {args.memories} memories, {os.cpu_count()} cores")
    hdr = f"{'phrase':42s} {'VAD wait':>8s} {'ASR':>6s} {'memory':>6s} {'LLM':>6s} {'TTS':>5s} " \
          f"{'proc.':>6s} {'total':>6s}  (ms)"
    print(hdr)
    for r in rows:
        print(f"{r['phrase'][:42]:42s} {r['vad_wait']:8.0f} {r['asr']:6.0f} {r['lookup']:6.0f} "
              f"{r['llm']:6.0f} {r['tts']:5.0f} {r['processing']:6.0f} "
              f"{r['vad_wait'] + r['processing']:6.0f}")
    if rows:
        m = {k: med([r[k] for r in rows]) for k in ("vad_wait", "asr", "lookup", "llm", "tts",
                                                      "processing")}
        print(f"{'median':42s} {m['vad_wait']:8.0f} {m['asr']:6.0f} {m['lookup']:6.0f} "
              f"{m['llm']:6.0f} {m['tts']:5.0f} {m['processing']:6.0f} "
              f"{m['vad_wait'] + m['processing']:6.0f}")
        print(f"end of speech -> first audio frame: median {m['vad_wait'] + m['processing']:.0f} ms "
              f"({m['vad_wait']:.0f} ms VAD wait + {m['processing']:.0f} ms processing); "
              f"memory retrieval {m['lookup']:.0f} ms = "
              f"{100 * m['lookup'] / (m['vad_wait'] + m['processing']):.1f}% of it "
              f"({100 * m['lookup'] / m['processing']:.1f}% of processing)")
        correct = sum(r["heard"].strip(" .?!").lower() == r["phrase"].strip(" .?!").lower()
                      for r in rows)
        print(f"ASR heard {correct}/{len(rows)} phrases exactly")
    print(f"real-time factor (lower is faster): ASR median {med(asr_rtf):.2f} "
          f"(min {min(asr_rtf, default=float('nan')):.2f}), "
          f"TTS median {med(tts_rtf):.3f}")
    voice.close()
    await daemon.stop()


if __name__ == "__main__":
    asyncio.run(main())
