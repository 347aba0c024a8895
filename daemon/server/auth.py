"""Device authentication: which devices may connect, and their tokens.

Tokens are stateless: HMAC-SHA256(secret, device id), handed out by the OTA endpoint, so a
device that did its OTA check holds the token the WebSocket then asks for. Comparisons are
constant-time; tokens never reach a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from daemon.config import AuthConfig


def _secret(data_dir: Path) -> bytes:
    path = data_dir / "device_secret"
    if path.exists():
        value = path.read_bytes().strip()
        if value:
            return value
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode()
    with path.open("wb") as f:
        path.chmod(0o600)
        f.write(value)
    return value


class DeviceAuth:
    def __init__(self, cfg: AuthConfig, data_dir: Path) -> None:
        self.enabled = cfg.enabled
        self.allowed = {d.strip().lower() for d in cfg.allowed_devices if d.strip()}
        self.fixed = {k.strip().lower(): v for k, v in cfg.tokens.items()}
        # A configured secret is shared by every server given it; else one per data dir.
        self._secret = (cfg.secret.encode() if cfg.secret else _secret(data_dir)) \
            if cfg.enabled else b""

    def is_allowed(self, device_id: str | None) -> bool:
        if not self.allowed:
            return True
        return device_id is not None and device_id.lower() in self.allowed

    def token_for(self, device_id: str) -> str:
        """The token the OTA endpoint gives this device ("" when auth is off)."""
        if not self.enabled:
            return ""
        mac = hmac.new(self._secret, device_id.lower().encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def check(self, device_id: str | None, token: str) -> str | None:
        """None if the device may connect, else the reason (safe to log: no token in it)."""
        if not self.is_allowed(device_id):
            return "device not in the allow-list"
        if not self.enabled:
            return None
        if not device_id:
            return "no Device-Id"
        given = token.encode("utf-8")
        ok = hmac.compare_digest(given, self.token_for(device_id).encode("ascii"))
        fixed = self.fixed.get(device_id.lower())
        if fixed is not None:
            ok = hmac.compare_digest(given, fixed.encode("utf-8")) or ok
        return None if ok and token else "missing or wrong device token"
