#!/usr/bin/env python3
"""Speech recognition for a Mandarin household, through the server's own code, in one run:

1. Language: the wrong-language rate of Whisper's own pick ("before": the most likely of its
   99 languages, as `language: auto` did) and of ours ("after": only `audio.asr.languages`,
   the first unless another is fairly sure), on the real recordings shipped in the xiaozhi-sdk
   wheel, on Kokoro-spoken Mandarin and English and on espeak-ng English, each sent as a device would (16 kHz,
   Opus 60 ms, decoded, cut by the Silero VAD listener).
2. Script: how many Mandarin transcripts hold traditional characters before the conversion
   (zhconv), and zhconv's and OpenCC's conversion time.
3. Memory hotwords: character (zh) / word (en) error on utterances that contain names the
   device remembers, with and without the hotwords built from its memories (same audio, same
   model), and on utterances without names (the bias must not hurt them).
4. Beam size 1 vs 5: error and decode time on all of it.

Prints figures, asserts nothing. Usage: ``.venv/bin/python bench/asr_bench.py``
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.audio.asr import FasterWhisperAsr  # noqa: E402
from daemon.audio.asrtext import normalise  # noqa: E402
from daemon.audio.hotwords import memory_hotwords  # noqa: E402
from daemon.audio.listener import Listener, Utterance  # noqa: E402
from daemon.audio.opus import OpusDecoder, OpusEncoder  # noqa: E402
from daemon.audio.pcm import parse_wav, resample, to_float  # noqa: E402
from daemon.audio.vad import make_vad_factory  # noqa: E402
from daemon.config import AsrConfig, TtsConfig, VadConfig  # noqa: E402
from daemon.modelfiles import resolve_whisper_folder  # noqa: E402
from tests.support.speech_scores import chars, edit_distance, words  # noqa: E402

MODELS = ROOT / "models"
SDK_LANG = {"16k_say_hello.wav": "en"}  # the others are Mandarin
KOKORO_ZH = ["明天会下雨吗？", "请帮我把客厅的灯打开。", "你叫什么名字？", "现在几点了？",
             "给我讲个笑话吧。", "我今天有点累。"]
KOKORO_EN = ["What is the weather like tomorrow?", "Turn off the music.", "How are you today?",
             "Set a timer for ten minutes.", "Tell me a joke.", "What time is it?"]
MEMORIES = ["我女儿叫林晓雯，在苏州上学", "我最喜欢周杰伦的晴天", "我儿子叫王子轩",
            "My sister Siobhan lives in Galway", "Has a dog called Biscuit",
            "My son Aidan plays football on Saturdays"]
NAMED = [("zh", "林晓雯今天几点放学？"), ("zh", "提醒我给王子轩打电话。"),
         ("zh", "播放周杰伦的晴天。"), ("zh", "林晓雯在苏州过得好吗？"),
         ("en", "Call Siobhan and tell her I am late."), ("en", "Did Aidan win his match?"),
         ("en", "Is Siobhan still in Galway?"), ("en", "Has Biscuit been fed today?")]
PLAIN = [("zh", "明天会下雨吗？"), ("zh", "请帮我把客厅的灯打开。"),
         ("en", "Turn off the music."), ("en", "What time is it?")]


def err(heard: str, said: str, lang: str) -> tuple[int, int]:
    """(errors, reference length): characters for zh, words for en."""
    keep = chars if lang == "zh" else words
    return edit_distance(keep(heard), keep(said)), len(keep(said))


def as_device_sends(pcm16k: np.ndarray, vad) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Opus 60 ms round trip and the server's listener: the utterance the ASR would get."""
    audio = np.concatenate([np.zeros(4800, np.int16), pcm16k, np.zeros(24000, np.int16)])
    enc, dec = OpusEncoder(16000, 60), OpusDecoder(16000)
    listener = Listener(vad(), VadConfig())
    listener.start("auto")
    for packet in enc.encode(audio):
        for ev in listener.feed(dec.decode(packet)):
            if isinstance(ev, Utterance):
                return ev.pcm
    return pcm16k


def main() -> None:
    import xiaozhi_sdk

    from daemon.audio.kokoro import KokoroTts, resolve_kokoro

    folder = resolve_whisper_folder("whisper-base", MODELS)
    asr = FasterWhisperAsr(folder, AsrConfig(max_decode_s=60))
    vad = make_vad_factory(VadConfig())
    kokoro = {v: KokoroTts(resolve_kokoro("kokoro-82m", MODELS),
                           TtsConfig(kokoro_voice_zh=v, kokoro_voice_en="am_michael"), None)
              for v in ("zf_xiaobei", "zm_yunjian")}

    def speak(text: str, voice: str = "zf_xiaobei") -> np.ndarray:
        sp = kokoro[voice].synthesize(text)
        return resample(sp.pcm, sp.rate, 16000)

    def espeak(text: str) -> np.ndarray:
        pcm, sr = parse_wav(subprocess.run(["espeak-ng", "-v", "en", "--stdout", text],
                                           capture_output=True, check=True).stdout)
        return resample(pcm, sr, 16000)

    # 1 + 2: language and script
    items: list[tuple[str, str, np.ndarray]] = []
    for wav in sorted((Path(xiaozhi_sdk.__file__).parent / "file" / "audio").glob("*.wav")):
        pcm, sr = parse_wav(wav.read_bytes())
        items.append((f"sdk {wav.name}", SDK_LANG.get(wav.name, "zh"), resample(pcm, sr, 16000)))
    for voice in kokoro:
        items += [(f"kokoro {voice}", "zh", speak(t, voice)) for t in KOKORO_ZH]
    items += [("kokoro am_michael", "en", speak(t)) for t in KOKORO_EN]
    items += [("espeak-ng en", "en", espeak(t)) for t in KOKORO_EN]
    wrong_before = wrong_after = traditional = zh_count = 0
    for name, lang, pcm in items:
        utt = as_device_sends(pcm, vad)
        pad = np.zeros(3200, np.float32)
        after, probs = asr.detect(np.concatenate([pad, to_float(utt), pad]))
        before = max(probs, key=lambda p: p[1])[0]
        wrong_before += before != lang
        wrong_after += after != lang
        if lang == "zh":
            segs, _ = asr.model.transcribe(np.concatenate([pad, to_float(utt), pad]), language="zh",
                                           beam_size=1, without_timestamps=True,
                                           initial_prompt=asr.cfg.initial_prompts.get("zh"))
            raw = "".join(s.text for s in segs)
            zh_count += 1
            traditional += normalise(raw, "zh-cn") != normalise(raw, "")
        print(f"  {name:26s} {lang}: Whisper's pick {before} (p={dict(probs)[before]:.2f}), "
              f"ours {after}", file=sys.stderr)
    print(f"language, {len(items)} utterances ({sum(i[1] == 'zh' for i in items)} zh): wrong "
          f"language: Whisper's own pick {wrong_before}/{len(items)}, limited to "
          f"{asr.cfg.languages} and biased to the first {wrong_after}/{len(items)}")
    print(f"script: {traditional}/{zh_count} Mandarin transcripts had traditional characters "
          "before the conversion (zhconv, zh-cn), 0 after")
    conv_times(["傷害明天會下雨嗎", "幫我把客廳的燈打開", "這個軟體的記憶體不夠"])

    # 3 + 4: hotwords from memories, beam size
    hot = memory_hotwords(MEMORIES, asr.cfg.memory_hotwords_chars)
    print(f"hotwords from {len(MEMORIES)} memories ({len(hot)} chars): {hot}")
    named = [(lang, t, as_device_sends(speak(t), vad)) for lang, t in NAMED]
    plain = [(lang, t, as_device_sends(speak(t), vad)) for lang, t in PLAIN]
    for beam in (1, 5):
        asr.cfg = asr.cfg.model_copy(update={"beam_size": beam})
        for label, rows in (("with names", named), ("without names", plain)):
            for bias in ("", hot):
                tot = {"zh": [0, 0], "en": [0, 0]}
                times: list[float] = []
                for lang, text, utt in rows:
                    t0 = time.perf_counter()
                    heard = asr.transcribe(utt, bias).text
                    times.append(time.perf_counter() - t0)
                    e, n = err(heard, text, lang)
                    tot[lang][0] += e
                    tot[lang][1] += n
                    if label == "with names":
                        print(f"    beam {beam} {'bias' if bias else 'none'}: {text} -> {heard}",
                              file=sys.stderr)
                print(f"beam {beam}, {label:13s} {'with' if bias else 'without':7s} hotwords: "
                      f"CER zh {tot['zh'][0]}/{tot['zh'][1]} = {tot['zh'][0] / tot['zh'][1]:.3f}, "
                      f"WER en {tot['en'][0]}/{tot['en'][1]} = {tot['en'][0] / tot['en'][1]:.3f}, "
                      f"decode median {statistics.median(times):.2f} s")


def conv_times(samples: list[str]) -> None:
    import zhconv

    try:
        import opencc
    except ImportError:
        opencc = None
    t0 = time.perf_counter()
    for _ in range(200):
        for s in samples:
            zhconv.convert(s, "zh-cn")
    z = (time.perf_counter() - t0) / (200 * len(samples)) * 1e6
    line = f"conversion per sentence: zhconv {z:.1f} us"
    if opencc is not None:
        cc = opencc.OpenCC("t2s")
        t0 = time.perf_counter()
        for _ in range(200):
            for s in samples:
                cc.convert(s)
        line += f", OpenCC t2s {(time.perf_counter() - t0) / (200 * len(samples)) * 1e6:.1f} us"
        diff = [(s, zhconv.convert(s, "zh-cn"), cc.convert(s)) for s in samples
                if zhconv.convert(s, "zh-cn") != cc.convert(s)]
        line += f"; they differ on {len(diff)}/{len(samples)}: {diff}"
    print(line)


if __name__ == "__main__":
    main()
