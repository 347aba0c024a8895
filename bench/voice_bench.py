#!/usr/bin/env python3
"""Voice pipeline benchmark: end of speech -> first TTS audio frame, through the daemon's code,
for each voice (espeak-ng and Kokoro side by side, one run, the same questions and answers).

For each spoken test phrase (English by espeak-ng, Mandarin by Kokoro's zf_xiaobei - espeak's
Mandarin is not recognisable - as a device would send it: 16 kHz, Opus-coded in 60 ms packets,
decoded by the server's decoder) the real listener (Silero VAD, auto mode)
finds the end of speech; then the real ASR (faster-whisper, Whisper base), the real
``TurnRunner`` (memory lookup over a user with ``--memories`` stored memories, prompt, LLM,
sentence splitting) and the real ``Speaker`` (TTS, resampling, Opus encoding, pacing) run
exactly as for a device. Prints, per phrase and as medians:

* VAD wait: audio time from the last speech sample to the moment the listener ends the
  utterance (the configured ``audio.vad.silence_ms``, rounded to VAD windows) - a real wait;
* processing: utterance end -> first Opus frame handed to the socket, split into ASR, memory
  lookup (``TurnResult.lookup_ms``, shown as a share), LLM to first sentence, TTS of that sentence;
* perceived latency = VAD wait + processing;
* real-time factors of ASR (decode time / audio length) and TTS (synthesis time / audio length);
* per voice: p50/p95 of end of speech -> first audio frame, the process RSS after loading it,
  and the CER of the spoken answer (the Opus the device would get, decoded and transcribed by
  Whisper with the answer's language forced), Mandarin and English apart.

It prints figures and never asserts them.

Usage::

    .venv/bin/python bench/voice_bench.py                   # espeak-ng vs kokoro, scripted LLM
    .venv/bin/python bench/voice_bench.py --llm config      # the configured LLM
    .venv/bin/python bench/voice_bench.py --tts kokoro --repeat 3 --memories 1000
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
from daemon.text import HAN, has_han  # noqa: E402
from daemon.turn import TurnContext  # noqa: E402
from tests.support.speech_scores import cer  # noqa: E402

PHRASES = [  # (language, question); en spoken by espeak-ng, zh by Kokoro zf_xiaobei
    ("en", "Please turn on the light in the kitchen."),
    ("en", "What time is it now?"),
    ("en", "Where does my sister live?"),
    ("zh", "明天会下雨吗？"),
    ("zh", "请帮我把客厅的灯打开。"),
    ("zh", "我妹妹住在哪里？"),
]
FACTS = ["My sister Anna lives in Hangzhou", "I am allergic to peanuts", "My cat is called Momo",
         "我妹妹住在杭州", "我喜欢听爵士乐", "My son plays football on Saturdays"]
ANSWERS = {
    "en": "Sure, I can help with that. Here is a short answer for you.",
    "zh": "好的，我来帮你。这是一个简短的回答，还有什么需要吗？",
}


def espeak_16k(text: str) -> np.ndarray:
    raw = subprocess.run(["espeak-ng", "-v", "en", "--stdout", text], capture_output=True,
                         check=True).stdout
    pcm, rate = parse_wav(raw)
    return resample(pcm, rate, 16000)


def kokoro_16k(text: str, models: Path) -> np.ndarray:
    from daemon.audio.kokoro import KokoroTts, resolve_kokoro
    from daemon.config import TtsConfig

    global _speaker_voice
    if _speaker_voice is None:
        _speaker_voice = KokoroTts(resolve_kokoro("kokoro-82m", models),
                                   TtsConfig(kokoro_voice_zh="zf_xiaobei"), None)
    sp = _speaker_voice.synthesize(text)
    return resample(sp.pcm, sp.rate, 16000)


_speaker_voice = None


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def voice_rss_mb(provider: str, models: Path) -> float:
    """RSS a fresh process gains by loading this voice alone (imports, model, dictionaries)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path; from bench.voice_bench import rss_mb;"
        "from daemon.config import load_config; from daemon.audio.services import build_tts;"
        "cfg = load_config(None, environ={'XIAOZHI_MEMD_MODELS_DIR': sys.argv[2],"
        " 'XIAOZHI_MEMD_AUDIO__TTS__PROVIDER': sys.argv[3]});"
        "before = rss_mb(); tts = build_tts(cfg); tts.synthesize('你好，今天天气很好。Hello there.');"
        "print(rss_mb() - before)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(models), provider],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


async def run_voice(daemon: Daemon, cfg, voice, user: str, questions, repeat: int, say):  # type: ignore[no-untyped-def]
    out = AudioParams(sample_rate=cfg.server.sample_rate, frame_duration=cfg.server.frame_duration_ms)
    rows = []
    for rep in range(repeat):
        for n, (lang, phrase, talk) in enumerate(questions):
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
            first_frame: list[float] = []
            packets: list[bytes] = []

            async def send_json(msg: object) -> None:
                pass

            async def send_bytes(data: bytes, _ff: list[float] = first_frame,
                                 _p: list[bytes] = packets) -> None:
                if not _ff:
                    _ff.append(time.perf_counter())
                _p.append(data)

            speaker = voice.speaker(out, 1, send_json, send_bytes)
            ctx = TurnContext(session_id=f"bench-{voice.tts.name}-{rep}-{n}", user_id=user)
            result = await daemon.turns.run(ctx, tr.text or phrase, send_json, speaker)
            st = speaker.stats
            if not first_frame:
                say(f"no audio for {phrase!r}")
                continue
            dec24 = OpusDecoder(out.sample_rate, out_rate=16000)
            spoken = np.concatenate([dec24.decode(p) for p in packets])
            answer = result.answer
            heard = _hear(spoken, "zh" if has_han(answer) else "en")
            processing = (first_frame[0] - t_end) * 1000
            rows.append({
                "lang": lang, "phrase": phrase, "heard": tr.text, "language": tr.language,
                "vad_wait": (ended_at_s - speech_end_s) * 1000, "asr": (t_asr - t_end) * 1000,
                "lookup": result.lookup_ms, "llm": (result.first_sentence_ms or 0) - result.lookup_ms,
                "tts": (st.first_synth_s or 0) * 1000, "processing": processing,
                "tts_rtf": st.synth_s / st.audio_s if st.audio_s else float("nan"),
                "asr_rtf": tr.rtf, "answer": answer, "answer_heard": heard,
                "cer": cer(heard, answer),
            })
            say(f"  [{voice.tts.name}] {phrase!r} -> {tr.text!r} ({tr.language}): {processing:.0f} ms;"
                f" answer heard as {heard!r}")
    return rows


_whisper = {}


def _hear(pcm: np.ndarray, lang: str) -> str:
    return _whisper[lang].transcribe(pcm).text


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=None, help="config file (default: defaults)")
    ap.add_argument("--llm", choices=["scripted", "config"], default="scripted")
    ap.add_argument("--tts", default="espeak-ng,kokoro", help="voices to compare, comma-separated")
    ap.add_argument("--language", default="auto", help="ASR language (auto, en, zh)")
    ap.add_argument("--memories", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    env = {k: v for k, v in os.environ.items() if k.startswith("XIAOZHI_MEMD_")}
    env.setdefault("XIAOZHI_MEMD_MODELS_DIR", str(ROOT / "models"))
    env["XIAOZHI_MEMD_DATA_DIR"] = str(tmp / "data")
    env["XIAOZHI_MEMD_AUDIO__ASR__LANGUAGE"] = args.language
    if args.llm == "scripted":
        rules = tmp / "rules.json"
        rules.write_text(json.dumps({"rules": [
            {"match": f"[{HAN}]", "reply": ANSWERS["zh"]},
            {"match": ".*", "reply": ANSWERS["en"]}]}, ensure_ascii=False))
        env["XIAOZHI_MEMD_LLM__PROVIDER"] = "scripted"
        env["XIAOZHI_MEMD_LLM__SCRIPTED__REPLIES_FILE"] = str(rules)
    cfg = load_config(args.config, environ=env)
    cfg.memory.lookup_timeout_ms = max(cfg.memory.lookup_timeout_ms, 2000)  # measure, don't cut

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    daemon = Daemon(cfg, progress=say)
    await daemon.start_services()
    assert daemon.turns is not None and daemon.memory is not None
    user = "bench-user"
    say(f"storing {args.memories} memories for {user}")
    for i in range(args.memories):
        base = FACTS[i % len(FACTS)]
        await daemon.memory.add(base if i < len(FACTS) else f"{base} (note {i})", user_id=user,
                                infer=False)
    say("making the questions (espeak-ng English, Kokoro zf_xiaobei Mandarin)")
    questions = [(lang, q, espeak_16k(q) if lang == "en" else kokoro_16k(q, cfg.models_dir))
                 for lang, q in PHRASES]
    from daemon.audio.asr import FasterWhisperAsr
    from daemon.config import AsrConfig
    from daemon.modelfiles import resolve_whisper_folder

    folder = resolve_whisper_folder(cfg.audio.asr.model, cfg.models_dir)
    asr = FasterWhisperAsr(folder, cfg.audio.asr)
    for lang in ("zh", "en"):  # the same model, language forced: to hear the spoken answers
        _whisper[lang] = FasterWhisperAsr(folder, AsrConfig(language=lang, max_decode_s=60),
                                          model=asr.model)

    results = {}
    for provider in args.tts.split(","):
        cfg.audio.tts.provider = provider  # type: ignore[assignment]
        voice = await asyncio.to_thread(build_voice, cfg, asr)
        rows = await run_voice(daemon, cfg, voice, user, questions, args.repeat, say)
        results[provider] = (voice.tts.name, rows, voice_rss_mb(provider, cfg.models_dir), rss_mb())
        voice.tts_pool.shutdown(wait=True)

    print(f"voice bench: ASR {asr.name} language={args.language}, "
          f"VAD {cfg.audio.vad.provider} (silence_ms={cfg.audio.vad.silence_ms}), "
          f"LLM {cfg.llm.provider}, {args.memories} memories, {os.cpu_count()} cores, "
          f"{len(PHRASES)} questions x {args.repeat}")
    print(f"{'voice':28s} {'first frame p50':>15s} {'p95':>6s} {'TTS 1st':>7s} {'TTS RTF':>7s} "
          f"{'RSS MB':>7s} {'CER zh':>6s} {'CER en':>6s} {'ASR lang ok':>11s}")
    for name, rows, rss_delta, _rss in results.values():
        total = [r["vad_wait"] + r["processing"] for r in rows]
        cers = {lang: [r["cer"] for r in rows if r["lang"] == lang] for lang in ("zh", "en")}
        ok = sum(r["language"] == r["lang"] for r in rows)
        print(f"{name:28s} {pct(total, 0.5):13.0f}ms {pct(total, 0.95):4.0f}ms "
              f"{med([r['tts'] for r in rows]):5.0f}ms {med([r['tts_rtf'] for r in rows]):7.3f} "
              f"{rss_delta:7.0f} {med(cers['zh']):6.2f} {med(cers['en']):6.2f} "
              f"{ok:>7d}/{len(rows)}")
    any_rows = [r for _n, rows, _d, _r in results.values() for r in rows]
    if any_rows:
        print(f"end of speech -> first frame = VAD wait (median {med([r['vad_wait'] for r in any_rows]):.0f}"
              f" ms) + ASR (median {med([r['asr'] for r in any_rows]):.0f} ms, RTF "
              f"{med([r['asr_rtf'] for r in any_rows]):.2f}) + memory lookup (median "
              f"{med([r['lookup'] for r in any_rows]):.0f} ms) + LLM + TTS of the first clause")
    print("RSS MB: what a fresh process gains by loading that voice alone and speaking once; "
          f"this process at the end: {rss_mb():.0f} MB (Whisper, embedder, memory, every voice)")
    await daemon.stop()


if __name__ == "__main__":
    asyncio.run(main())
