"""The OTA / activation HTTP endpoint a xiaozhi device calls first (PROTOCOL.md section 1)."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

from aiohttp import web

from daemon.config import ServerConfig
from daemon.server.auth import DeviceAuth

log = logging.getLogger(__name__)

MAX_OTA_BODY = 64 * 1024


def lan_address() -> str:
    """This machine's LAN address (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def websocket_url(cfg: ServerConfig, request_host: str | None) -> str:
    host = cfg.public_host or (request_host or "").split(":")[0] or lan_address()
    return f"ws://{host}:{cfg.websocket_port}{cfg.websocket_path}"


def ota_reply(cfg: ServerConfig, device_info: dict[str, Any], request_host: str | None,
              token: str = "") -> dict[str, Any]:
    """The reply shape the firmware expects: no ``mqtt`` (it would switch to MQTT), no
    ``activation`` (skips activation), our own firmware version echoed with no URL."""
    app = device_info.get("application") if isinstance(device_info, dict) else None
    version = app.get("version") if isinstance(app, dict) else None
    tz_minutes = -time.timezone // 60 if not time.daylight else -time.altzone // 60
    return {
        "server_time": {"timestamp": int(time.time() * 1000), "timezone_offset": tz_minutes},
        "firmware": {"version": str(version or "0.0.0"), "url": ""},
        "websocket": {"url": websocket_url(cfg, request_host), "token": token},
    }


async def _read_device_info(request: web.Request) -> dict[str, Any]:
    if request.content_length and request.content_length > MAX_OTA_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_OTA_BODY,
                                            actual_size=request.content_length)
    body = await request.content.read(MAX_OTA_BODY + 1)
    if len(body) > MAX_OTA_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_OTA_BODY, actual_size=len(body))
    if not body.strip():
        return {}
    try:
        info = json.loads(body)
    except ValueError:
        log.warning("OTA request with a body that is not JSON: answering anyway")
        return {}
    return info if isinstance(info, dict) else {}


def add_ota_routes(app: web.Application, cfg: ServerConfig, auth: DeviceAuth) -> None:
    async def ota(request: web.Request) -> web.Response:
        info = await _read_device_info(request) if request.method == "POST" else {}
        device = request.headers.get("Device-Id", "").strip().lower()[:64]
        log.info("OTA check from device %s", device or "(no Device-Id)")
        if not auth.is_allowed(device or None):
            log.warning("OTA: device %s is not in the allow-list", device or "(no Device-Id)")
            return web.json_response({"error": "device not allowed"}, status=403)
        if auth.enabled and not device:
            return web.json_response({"error": "Device-Id header required"}, status=400)
        token = auth.token_for(device) if device else ""
        return web.json_response(ota_reply(cfg, info, request.host, token))

    async def activate(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # Clients differ in trailing slashes (xiaozhi-sdk posts to "<ota_url>/").
    app.router.add_route("GET", "/xiaozhi/ota{slashes:/*}", ota)
    app.router.add_route("POST", "/xiaozhi/ota{slashes:/*}", ota)
    app.router.add_route("POST", "/xiaozhi/ota/activate{slashes:/*}", activate)
