"""Text to Kokoro phonemes: Mandarin with misaki's ZHG2P (pypinyin + jieba), English with
espeak-ng's IPA mapped to Kokoro's phoneme set (misaki's own espeak mapping, E2M below).

misaki's English G2P proper needs spaCy and a spaCy model fetched at run time; espeak-ng is
already the fallback voice, so English costs no new package. Both are blocking calls.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

from daemon.audio.tts import TtsError

__all__ = ["EnglishG2P", "MandarinG2P"]

# From misaki.espeak.EspeakFallback (Apache-2.0): espeak-ng IPA (ties as ^) -> Kokoro v1.0.
E2M = sorted({
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn", "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A",
    "t^ʃ": "ʧ", "ɔ^ɪ": "Y", "ə^l": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ", "r": "ɹ",
    "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "\u0303": "",
}.items(), key=lambda kv: -len(kv[0]))


class EnglishG2P:
    """espeak-ng (``en-us``) as a subprocess: one call per text, ~10-20 ms."""

    def __init__(self, binary: str | None = None, voice: str = "en-us") -> None:
        found = binary or shutil.which("espeak-ng")
        if not found:
            raise TtsError("espeak-ng is not installed (sudo apt-get install espeak-ng)")
        self.binary = found
        self.voice = voice

    def __call__(self, text: str) -> str:
        try:
            proc = subprocess.run([self.binary, "-q", "--ipa", "--tie=^", "-v", self.voice],
                                  input=text.encode("utf-8"), capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TtsError(f"espeak-ng phonemes failed: {exc}") from None
        if proc.returncode != 0:
            raise TtsError(f"espeak-ng phonemes failed: {proc.stderr.decode(errors='replace')[:200]}")
        # espeak prints one line per clause and drops the punctuation: keep the pauses
        lines = [ln.strip() for ln in proc.stdout.decode("utf-8").splitlines() if ln.strip()]
        ps = ", ".join(lines)
        for old, new in E2M:
            ps = ps.replace(old, new)
        ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps).replace("\u0329", "")
        ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə")
        ps = ps.replace("ː", "").replace("o", "ɔ").replace("ɾ", "T").replace("ʔ", "t")
        ps = ps.replace("^", "")
        end = text.rstrip()[-1:] if text.rstrip()[-1:] in ".!?" else "."
        return f"{ps}{end}" if ps else ""


class MandarinG2P:
    """misaki's ZHG2P (legacy mode, the one Kokoro v1.0 was trained on): digits become Chinese
    numbers (cn2an), words are cut by jieba and read by pypinyin."""

    def __init__(self) -> None:
        try:
            import jieba
            from misaki.zh import ZHG2P
        except ImportError as exc:
            raise TtsError(f"misaki[zh] is not installed ({exc}): pip install 'misaki[zh]==0.9.4'") \
                from None
        jieba.setLogLevel(logging.WARNING)
        self._g2p = ZHG2P()
        self("你好。")  # jieba builds its dictionary on first use (~0.7 s): not during a turn

    def __call__(self, text: str) -> str:
        phonemes, _ = self._g2p(text)
        return str(phonemes or "").strip()
