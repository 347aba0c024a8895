"""Authentication: which devices may connect (and their tokens), and who may use the REST API.

Device tokens are stateless: HMAC-SHA256(secret, device id), handed out by the OTA endpoint, so
a device that did its OTA check holds the token the WebSocket then asks for. The REST API takes
the admin API key, or (with device auth on) a device's token for that device's memories only.
Comparisons are constant-time; keys and tokens never reach a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from aiohttp import web

from daemon.config import AuthConfig

API_PREFIXES = ("/v1/", "/v2/", "/v3/", "/api/")


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
        self._secret = _secret(data_dir) if cfg.enabled else b""

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


# -- REST API ------------------------------------------------------------------------------

AUTH_KEY: web.AppKey[DeviceAuth | None] = web.AppKey("device_auth", object)  # type: ignore[arg-type]


class Forbidden(Exception):
    """A device key used for another user's memories, or for an admin-only route."""


def load_or_create_api_key(configured: str, data_dir: Path) -> str:
    """The configured key, else the one kept in <data_dir>/api_key (made once, mode 0600)."""
    if configured:
        return configured
    path = data_dir / "api_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    fd = path.open("w", encoding="utf-8")
    try:
        path.chmod(0o600)
        fd.write(key + "\n")
    finally:
        fd.close()
    return key


def needs_api_key(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def check_api_key(request: web.Request, api_key: str, device_auth: DeviceAuth | None) -> str | None:
    """None if the request may go on (marking a device token for ``allow``), else why not
    (a 401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    given = token.strip().encode("utf-8") if scheme.lower() in ("token", "bearer") else b""
    if not given:
        return "missing API key (send 'Authorization: Token <key>')"
    if hmac.compare_digest(given, api_key.encode("utf-8")):
        return None
    if device_auth is None or not device_auth.enabled:
        return "invalid API key"
    # Maybe a device token: checked against the user each handler touches.
    request["device_token"] = given.decode("utf-8", "replace")
    return None


def allow(request: web.Request, user_id: str | None) -> None:
    """Let the request touch ``user_id``'s memories: the admin key may touch any user; a
    device token (when device auth is on) only its own device's."""
    device_token = request.get("device_token")
    if device_token is None:
        return  # admin
    auth: DeviceAuth | None = request.app.get(AUTH_KEY)
    if (auth is None or not auth.enabled or not user_id
            or not hmac.compare_digest(device_token.encode(), auth.token_for(user_id).encode())):
        raise Forbidden("this key only gives access to its own device's memories")


def admin_only(request: web.Request) -> None:
    if request.get("device_token") is not None:
        raise Forbidden("this needs the admin API key")


def is_admin(request: web.Request) -> bool:
    return request.get("device_token") is None
