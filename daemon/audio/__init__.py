"""The offline voice pipeline: Opus codec, VAD, the listener state machine, ASR and TTS
providers, the real-time pacer and the per-turn speaker. Heavy packages (faster-whisper,
opuslib_next, VAD engines, piper) are imported only when voice is built, so the text-only
server starts without them."""
