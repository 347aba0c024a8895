"""Session: one connected device, from its hello to its disconnect.

The protocol logic is in ``daemon.protocol`` (pure); this class only moves messages between
the socket, the protocol and the turn runner. Anything a device sends that we cannot use is
logged and skipped: one device's bad input never ends the server, only (at worst) its own
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from daemon.executors import run
from daemon.memory.limits import MAX_UTTERANCE_CHARS
from daemon.protocol import (
    DEFAULT_SERVER_AUDIO,
    FRAME_OPUS,
    Abort,
    AudioParams,
    ClientHello,
    DeviceIdentity,
    Listen,
    Mcp,
    McpToolPager,
    ProtocolError,
    ServerMessage,
    Tts,
    decode_frame,
    encode_server_message,
    initialize_request,
    negotiate_hello,
    parse_client_message,
)
from daemon.turn import TurnContext, TurnRunner

if TYPE_CHECKING:
    from daemon.audio.hotwords import DeviceHotwords
    from daemon.audio.listener import Event, Listener, Utterance
    from daemon.audio.opus import OpusDecoder
    from daemon.audio.services import AudioServices

log = logging.getLogger(__name__)

TOO_LONG = "Sorry, that was too long for me. Please say it in a few sentences."

WAKE_WORDS = frozenset(
    w.casefold()
    for w in ("你好小智", "你好小志", "小爱同学", "你好小鑫", "小美同学", "hi esp", "hi, esp",
              "你好喵伴", "jarvis", "alexa", "hey google")
)


def is_wake_word(text: str) -> bool:
    return text.strip().strip("，,。.!！?？").casefold() in WAKE_WORDS


@dataclass
class SessionState:
    session_id: str
    identity: DeviceIdentity
    user_id: str
    hello: ClientHello | None = None
    mcp_tools: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    audio_frames: int = 0
    bad_frames: int = 0
    utterances: int = 0
    dropped_utterances: int = 0


class Session:
    def __init__(
        self, conn: ServerConnection, identity: DeviceIdentity, user_id: str,
        turns: TurnRunner, *, hello_timeout_s: float, idle_timeout_s: float,
        server_audio: AudioParams = DEFAULT_SERVER_AUDIO, audio: AudioServices | None = None,
    ) -> None:
        self.conn = conn
        self.state = SessionState(uuid.uuid4().hex, identity, user_id)
        self.turns = turns
        self.hello_timeout_s = hello_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.server_audio = server_audio
        self._turn: asyncio.Task[Any] | None = None
        self._mcp: McpToolPager | None = None
        self.audio = audio
        self._decoder: OpusDecoder | None = None
        self._listener: Listener | None = None
        self._asr: asyncio.Task[None] | None = None
        self._pending: Utterance | None = None
        self._listen_mode = "auto"
        self._hotwords: DeviceHotwords | None = None

    async def send(self, msg: ServerMessage) -> None:
        await self.conn.send(encode_server_message(msg))

    async def run(self) -> None:
        try:
            if not await self._handshake():
                return
            while True:
                try:
                    data = await asyncio.wait_for(self.conn.recv(), timeout=self.idle_timeout_s)
                except asyncio.TimeoutError:
                    log.info("device %s idle for %.0f s: closing", self.state.user_id,
                             self.idle_timeout_s)
                    await self.conn.close(1000, "idle timeout")
                    return
                await self._dispatch(data)
        except ConnectionClosed:
            pass
        finally:
            await self._cancel_turn()
            if self._asr is not None:
                self._asr.cancel()

    async def _handshake(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hello_timeout_s
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.info("device %s sent no hello within %.0f s: closing", self.state.user_id,
                         self.hello_timeout_s)
                await self.conn.close(1008, "hello expected")
                return False
            try:
                data = await asyncio.wait_for(self.conn.recv(), timeout=remaining)
            except asyncio.TimeoutError:
                continue
            if isinstance(data, bytes):
                log.warning("device %s: binary frame before hello, ignored", self.state.user_id)
                continue
            try:
                msg = parse_client_message(data)
            except ProtocolError as exc:
                log.warning("device %s: bad message before hello (%s), ignored",
                            self.state.user_id, exc.reason)
                continue
            if not isinstance(msg, ClientHello):
                log.warning("device %s: %s before hello, ignored", self.state.user_id,
                            type(msg).__name__)
                continue
            try:
                reply = negotiate_hello(msg, session_id=self.state.session_id,
                                        server_audio=self.server_audio)
            except ProtocolError as exc:
                log.warning("device %s: hello refused (%s)", self.state.user_id, exc.reason)
                await self.conn.close(1003, exc.reason[:100])
                return False
            self.state.hello = msg
            await self.send(reply)
            log.info("device %s connected (session %s, protocol v%d)", self.state.user_id,
                     self.state.session_id, self.state.identity.protocol_version)
            if msg.features.get("mcp"):
                await self._start_mcp()
            self.turns.prepare(self._context())
            return True

    async def _dispatch(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self._on_audio(data)
            return
        try:
            msg = parse_client_message(data)
        except ProtocolError as exc:
            log.warning("device %s: %s (message ignored)", self.state.user_id, exc.reason)
            return
        if isinstance(msg, Listen):
            if msg.state == "detect" and msg.text and msg.text.strip():
                if is_wake_word(msg.text):
                    if self._listener is not None:
                        self._listener.discard()  # that audio was the wake word
                    return
                await self._start_turn(msg.text.strip())
            elif msg.state == "start":
                if self._turn is not None and not self._turn.done():
                    # The device listens again while we speak: barge-in.
                    await self._cancel_turn()
                listener = await self._voice_listener()
                self.turns.prepare(self._context())  # read while the user speaks
                if listener is not None:
                    self._listen_mode = msg.mode or "auto"
                    listener.start(self._listen_mode)
            elif msg.state == "stop" and self._listener is not None:
                await self._on_events(self._listener.stop())
        elif isinstance(msg, Abort):
            if await self._cancel_turn():
                await self.send(Tts(state="stop"))
        elif isinstance(msg, Mcp):
            await self._on_mcp(msg.payload)
        elif isinstance(msg, ClientHello):
            log.info("device %s: repeated hello ignored", self.state.user_id)

    async def _start_turn(self, text: str) -> None:
        await self._cancel_turn()
        if len(text) > MAX_UTTERANCE_CHARS:
            # Bounded work per input: a short answer instead of a turn, a job and a prompt
            # that would not fit the model.
            log.warning("device %s: utterance of %d characters refused (limit %d)",
                        self.state.user_id, len(text), MAX_UTTERANCE_CHARS)
            self._turn = asyncio.create_task(self._refuse())
            return
        self.state.turns += 1
        self._turn = asyncio.create_task(self._run_turn(self._context(), text))

    def _context(self) -> TurnContext:
        return TurnContext(session_id=self.state.session_id, user_id=self.state.user_id)

    async def _refuse(self) -> None:
        speaker = None
        if self.audio is not None:
            speaker = self.audio.speaker(self.server_audio, self.state.identity.protocol_version,
                                         self.send, self.conn.send)
        with contextlib.suppress(ConnectionClosed):
            await self.turns.notice(TOO_LONG, self.send, speaker)

    async def _run_turn(self, ctx: TurnContext, text: str) -> None:
        speaker = None
        if self.audio is not None:
            speaker = self.audio.speaker(self.server_audio, self.state.identity.protocol_version,
                                         self.send, self.conn.send)
        try:
            await self.turns.run(ctx, text, self.send, speaker)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("turn failed for device %s", self.state.user_id)

    async def _cancel_turn(self) -> bool:
        task, self._turn = self._turn, None
        if task is None or task.done():
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return True

    # -- voice ------------------------------------------------------------------------------

    async def _voice_listener(self) -> Listener | None:
        if self.audio is None:
            return None
        if self._listener is None:
            from daemon.audio.opus import OpusDecoder

            hello = self.state.hello
            rate = hello.audio_params.sample_rate if hello else 16000
            channels = hello.audio_params.channels if hello else 1
            self._decoder = OpusDecoder(rate, channels, out_rate=16000)
            # a VAD model loads in a fraction of a second: not on the event loop
            self._listener = await run("voice-setup", self.audio.listener)
        return self._listener

    async def _on_audio(self, data: bytes) -> None:
        listener = await self._voice_listener()
        if listener is None or self._decoder is None:
            return
        from daemon.audio.opus import OpusError

        # Every packet is decoded, heard or not: Opus predicts from the previous packets, so a
        # decoder that skipped some garbles the start of what comes next.

        try:
            frame = decode_frame(self.state.identity.protocol_version, data)
            if frame.type != FRAME_OPUS:
                return
            pcm = self._decoder.decode(frame.payload)
        except (ProtocolError, OpusError) as exc:
            self.state.bad_frames += 1
            if self.state.bad_frames in (1, 100, 10000):
                log.warning("device %s: undecodable audio frame (%s; %d so far), skipped",
                            self.state.user_id, exc, self.state.bad_frames)
            return
        self.state.audio_frames += 1
        if listener.listening:  # else (e.g. wake-word audio before `listen start`): dropped
            await self._on_events(listener.feed(pcm))

    async def _on_events(self, events: list[Event]) -> None:
        from daemon.audio.listener import SpeechStarted

        for ev in events:
            if isinstance(ev, SpeechStarted):
                if (self._listener is not None and self._listener.mode == "realtime"
                        and self._turn is not None and not self._turn.done()):
                    log.info("device %s: user speaks over the answer (barge-in)",
                             self.state.user_id)
                    if await self._cancel_turn():
                        await self.send(Tts(state="stop"))
            else:
                self.state.utterances += 1
                if self._pending is not None:
                    self.state.dropped_utterances += 1  # superseded before it was heard
                self._pending = ev
                if self._asr is None or self._asr.done():
                    self._asr = asyncio.create_task(self._recognise())

    async def _recognise(self) -> None:
        assert self.audio is not None
        while (utt := self._pending) is not None:
            self._pending = None
            try:
                result = await self.audio.asr.transcribe(utt.pcm, await self._device_hotwords())
            except Exception:
                log.exception("speech recognition failed for device %s", self.state.user_id)
                continue
            if not result.text:
                self.state.dropped_utterances += 1
                log.info("device %s: %.1f s of audio not used (%s, %.1f s to decode)",
                         self.state.user_id, result.audio_s, result.dropped, result.decode_s)
                listener = self._listener
                if listener is not None and not listener.listening and self._pending is None \
                        and self._listen_mode == "auto" and (self._turn is None or self._turn.done()):
                    listener.start("auto")  # nothing heard: keep listening as the device does
                continue
            log.info("device %s said %r (%.1f s of audio, %.2f s to recognise)",
                     self.state.user_id, result.text, result.audio_s, result.decode_s)
            await self._start_turn(result.text)

    async def _device_hotwords(self) -> str:
        """Names from this device's own memories, to help Whisper hear them."""
        assert self.audio is not None
        memory = getattr(self.turns, "memory", None)
        if memory is None:
            return ""
        if self._hotwords is None:
            from daemon.audio.hotwords import DeviceHotwords

            user_id = self.state.user_id
            self._hotwords = DeviceHotwords(lambda: memory.get_all(user_id=user_id, limit=500),
                                            self.audio.cfg.asr.memory_hotwords_chars)
        return await self._hotwords.get()

    async def _start_mcp(self) -> None:
        self._mcp = McpToolPager()
        # An empty vision entry: the xiaozhi-sdk client requires the key; the firmware only
        # uses it to reach a camera-explain service, which we do not offer.
        init = initialize_request(1, capabilities={"vision": {"url": "", "token": ""}})
        await self.send(Mcp(payload=init))
        first = self._mcp.start()
        if first is not None:
            await self.send(Mcp(payload=first))

    async def _on_mcp(self, payload: dict[str, Any]) -> None:
        pager = self._mcp
        if pager is None or pager.done or not pager.matches(payload):
            return
        nxt = pager.receive(payload)
        if nxt is not None:
            await self.send(Mcp(payload=nxt))
        elif pager.done:
            self.state.mcp_tools = list(pager.tools)
            log.info("device %s has %d MCP tools%s", self.state.user_id, len(pager.tools),
                     f" (paging stopped: {pager.error})" if pager.error else "")
