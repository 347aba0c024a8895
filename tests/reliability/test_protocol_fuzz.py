"""Property-based fuzzing of the sans-I/O protocol layer: the text-message parser, binary
framing v1/v2/v3 and the handshake identity never raise anything but ProtocolError /
FramingError, and encode -> decode round trips are exact.

Budget: ``XIAOZHI_FUZZ_EXAMPLES`` cases in total (default 100,000), shared out by ``SHARES``.
A *case* is one input given to the code under test. Hypothesis' own per-example cost (1-2 ms
on a busy 2-core machine) would make 100,000 separate examples take minutes, so each
hypothesis example carries a batch of ``BATCH`` independently drawn inputs, and most structured
inputs (JSON messages, frames, headers) are built from drawn bytes by small deterministic
decoders (the structure-aware fuzzing trick: hypothesis still shrinks the bytes, and zero
bytes decode to the simplest structure). A smaller share uses native recursive strategies for
their richer generation and shrinking. No example database, a fresh random seed each run.
"""

from __future__ import annotations

import json
import math
import os
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from daemon.protocol import (
    Abort,
    AudioParams,
    BinaryFrame,
    ClientHello,
    FramingError,
    Listen,
    Mcp,
    ProtocolError,
    decode_frame,
    encode_client_message,
    encode_frame,
    identity_from_request,
    parse_client_message,
)
from daemon.protocol.messages import LISTEN_MODES, LISTEN_STATES

TOTAL = int(os.environ.get("XIAOZHI_FUZZ_EXAMPLES", "100000"))
SHARES = {
    "text": 0.15, "bytes": 0.12, "json_built": 0.28, "json_native": 0.01, "frames": 0.16,
    "frame_trip": 0.10, "message_trip_built": 0.095, "message_trip_native": 0.005, "identity": 0.08,
}
assert abs(sum(SHARES.values()) - 1.0) < 1e-9
BATCH = 25
NATIVE_BATCH = 5  # native recursive strategies draw far more choices per input


def cases(name: str) -> int:
    return max(1, round(TOTAL * SHARES[name]))


def fuzz(name: str, strategy: st.SearchStrategy, batch: int = BATCH):
    """@given a list of ``batch`` inputs, with enough examples for the test's share of cases;
    the wrapped function takes one input. Returns a runner that checks the count."""
    examples = -(-cases(name) // batch)

    def wrap(check: Callable[[Any], None]) -> Callable[[], None]:
        count = 0

        @settings(max_examples=examples, deadline=None, derandomize=False, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(strategy, min_size=batch, max_size=batch))
        def test(inputs):
            nonlocal count
            for item in inputs:
                count += 1
                try:
                    check(item)
                except BaseException:
                    note(f"failing input: {item!r}"[:3000])
                    raise

        def run() -> None:
            nonlocal count
            count = 0
            start = time.perf_counter()
            test()
            elapsed = time.perf_counter() - start
            print(f"\nfuzz {name}: {count} cases ({examples} hypothesis examples) "
                  f"in {elapsed:.1f} s", end="")
            assert count >= cases(name), f"{name}: only {count} cases ran"

        return run

    return wrap


# -- building structures from bytes --------------------------------------------------------

KEYS = ["type", "state", "mode", "text", "reason", "payload", "version", "features", "transport",
        "audio_params", "format", "sample_rate", "channels", "frame_duration", "session_id",
        "jsonrpc", "method", "id", "params", "result", "error"]
TYPES = ["hello", "listen", "abort", "mcp"]
WORDS = [*TYPES, "start", "stop", "detect", "auto", "manual", "realtime", "opus", "OPUS ", "pcm",
         "", "websocket", "wake_word_detected", "Hello", "\ufeffhello", "hello\x00", "2.0",
         "tools/list", "你好小智", "\u202e", "\ud800"]
INTS = [0, 1, 2, 3, -1, 8000, 7999, 16000, 24000, 48000, 48001, 60, 1000, 1001, 2**16, 2**31,
        -(2**63), 2**64, 10**30, 10**400, -(10**4299)]
FLOATS = [0.0, -0.0, 60.0, 16000.0, 16000.5, 1e308, -1e-308, 1e16, float("nan"), float("inf"),
          float("-inf")]
CHARS = "abcxyz019 _-.:/\\\"'{}[],\x00\x1f\x7f\u00e9\u4f60\u597d\U0001f600\ufeff\u2028"


class Bytes:
    """A cursor over drawn bytes; past the end every read is 0 (the simplest choice)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1] if self.pos <= len(self.data) else 0

    def pick(self, options: list[Any]) -> Any:
        return options[self.byte() % len(options)]

    def text(self, limit: int = 12) -> str:
        return "".join(self.pick(list(CHARS)) for _ in range(self.byte() % (limit + 1)))

    def raw(self, limit: int) -> bytes:
        n = self.byte() % (limit + 1)
        return bytes(self.byte() for _ in range(n))

    def int(self) -> int:
        kind = self.byte() % 4
        if kind == 0:
            return self.byte() - 128
        if kind == 1:
            return self.pick(INTS)
        return int.from_bytes(self.raw(12), "big", signed=kind == 3)

    def value(self, depth: int = 0, finite: bool = False) -> Any:
        kind = self.byte() % (8 if depth < 4 else 6)
        if kind == 0:
            return self.pick([None, True, False])
        if kind == 1:
            return self.int()
        if kind == 2:
            f = self.pick(FLOATS)
            return 0.5 if finite and not math.isfinite(f) else f
        if kind == 3:
            word = self.pick(WORDS)
            return "x" if finite and word == "\ud800" else word
        if kind in (4, 5):
            return self.text()
        if kind == 6:
            return [self.value(depth + 1, finite) for _ in range(self.byte() % 4)]
        return self.dict(depth + 1, finite)

    def key(self) -> str:
        return self.pick(KEYS) if self.byte() % 4 else self.text(6)

    def dict(self, depth: int = 0, finite: bool = False) -> dict[str, Any]:
        return {self.key(): self.value(depth, finite) for _ in range(self.byte() % 5)}


def build_message(data: bytes) -> tuple[str | bytes, dict[str, Any]]:
    """A message-like JSON object (real keys and values mostly, nested garbage too) and one
    of its wire forms."""
    b = Bytes(data)
    obj: dict[str, Any] = {}
    if b.byte() % 8:
        obj["type"] = b.pick(TYPES) if b.byte() % 6 else b.value()
    for _ in range(b.byte() % 6):
        key = b.key()
        mode = b.byte() % 4
        if key == "audio_params" and mode:
            obj[key] = {b.pick(["format", "sample_rate", "channels", "frame_duration"]):
                        b.pick([b.int(), b.pick(WORDS), b.pick(FLOATS)]) for _ in range(b.byte() % 5)}
        elif key == "payload" and mode:
            obj[key] = {"jsonrpc": "2.0", "id": b.int(), **b.dict(1)}
        elif key in ("state", "mode") and mode:
            obj[key] = b.pick(sorted(LISTEN_STATES | LISTEN_MODES))
        else:
            obj[key] = b.value(1)
    text = json.dumps(obj, ensure_ascii=bool(b.byte() % 2))
    form = b.byte() % 5
    if form == 1:
        return text.encode("utf-8", "surrogatepass"), obj
    if form == 2:
        return "\ufeff" + text, obj
    if form == 3:  # cut short, as a broken connection would
        return text[: b.byte() % (len(text) + 1)], obj
    return text, obj


# -- the parser ----------------------------------------------------------------------------

def _finite(value: object) -> bool:
    """No NaN/inf anywhere (they have no JSON encoding and are unequal to themselves)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def check_parse(data: str | bytes) -> object | None:
    """parse_client_message raises only ProtocolError (with a short reason); what it accepts
    re-encodes to an equal message."""
    try:
        msg = parse_client_message(data)
    except ProtocolError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        assert len(exc.reason) < 200, exc.reason  # wire values are truncated in reasons
        return None
    assert isinstance(msg, (ClientHello, Listen, Abort, Mcp))
    if _finite(msg.to_dict()):
        try:
            encoded = encode_client_message(msg)
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: str in, str out
            encoded = None
        if encoded is not None:
            assert parse_client_message(encoded) == msg
    return msg


def test_parse_arbitrary_text():
    @fuzz("text", st.one_of(
        st.text(max_size=80),
        st.text(alphabet='{}[]":,\\ \ufeff0123456789.eE-+tfnulxyz', max_size=60),
        st.builds(lambda a, b: a + b, st.sampled_from(['{"type":"hello"', '{"type":', '[',
                                                       '{"type":"listen","state":', '{"type":"mcp",']),
                  st.text(max_size=40)),
    ))
    def check(text):
        check_parse(text)

    check()


def test_parse_arbitrary_bytes():
    @fuzz("bytes", st.one_of(
        st.binary(max_size=80),
        st.builds(lambda a, b: a + b, st.sampled_from([b"\xef\xbb\xbf", b'{"type":"abort"', b"\xff",
                                                       b"\xed\xa0\x80", b'{"type":"hello",']),
                  st.binary(max_size=40)),
    ))
    def check(data):
        check_parse(data)

    check()


def test_parse_json_messages_built():
    @fuzz("json_built", st.binary(max_size=160))
    def check(data):
        wire, obj = build_message(data)
        msg = check_parse(wire)
        if msg is not None:  # accepted: it is the type it says, carrying what was sent
            assert msg.to_dict()["type"] == obj["type"]
            if isinstance(msg, Mcp) and _finite(obj["payload"]):
                assert msg.payload == obj["payload"]
            if isinstance(msg, Listen):
                assert msg.state == obj["state"]

    check()


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(INTS + FLOATS + WORDS),
                    st.floats(), st.text(max_size=10))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner,
                                            max_size=4)),
    max_leaves=8,
)
MESSAGES = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=5),
    st.one_of(st.sampled_from(TYPES + sorted(LISTEN_STATES | LISTEN_MODES)), JSON_VALUES),
    max_size=6,
).flatmap(lambda d: st.sampled_from(TYPES).map(lambda t: {"type": t, **d}) | st.just(d))


def test_parse_json_messages_native():
    @fuzz("json_native", st.tuples(MESSAGES, st.booleans()), batch=NATIVE_BATCH)
    def check(case):
        obj, ascii_only = case
        check_parse(json.dumps(obj, ensure_ascii=ascii_only))

    check()


def test_parse_deep_nesting_and_huge_numbers():
    """The classic crashes of a JSON parser, once each."""
    for data in ["[" * 100_000, '{"a":' * 100_000, "1" * 100_000, "-" + "9" * 5000,
                 '{"type":"hello","version":' + "9" * 5000 + "}", '{"type":"hello","version":1e400}',
                 '{"type":"hello","audio_params":{"sample_rate":NaN}}', "\ud800", '"\\ud800"',
                 '{"type":"listen","state":"start","text":"\\ud800"}']:
        check_parse(data)
        check_parse(data.encode("utf-8", "surrogatepass"))


# -- binary framing ------------------------------------------------------------------------

def build_frame_input(data: bytes) -> tuple[Any, bytes]:
    """(version, frame bytes): raw garbage, or a v2/v3 header whose payload_size is the real
    length or near it (arbitrary bytes would almost never reach the success path)."""
    b = Bytes(data)
    mode = b.byte() % 6
    if mode == 0:
        return b.pick([0, 4, -1, 2**40, True, False, 2.0, None, "2"]), b.raw(16)
    if mode in (1, 2):
        return b.pick([1, 2, 3]), data[b.pos:]
    payload = b.raw(200)
    size = len(payload) + b.pick([0, 0, 0, 0, -1, 1, 2**16, -len(payload)])
    if mode in (3, 4):
        header = struct.pack(">HHIII", b.pick([2, 2, 1, 3, 0xFFFF]), b.byte() * 256 + b.byte(),
                             b.pick([0, 0, 1, 2**32 - 1]), int.from_bytes(b.raw(4), "big"),
                             max(0, size) % 2**32)
        return 2, header[: len(header) - b.pick([0] * 7 + [1, 5, 16])] + payload
    header = struct.pack(">BBH", b.byte(), b.pick([0, 0, 0, 1, 255]), max(0, size) % 2**16)
    return 3, header[: len(header) - b.pick([0] * 7 + [1, 4])] + payload


def test_decode_arbitrary_frames():
    @fuzz("frames", st.tuples(st.binary(max_size=240), st.sampled_from([bytes, bytearray, memoryview])))
    def check(case):
        data, kind = case
        version, frame_bytes = build_frame_input(data)
        try:
            frame = decode_frame(version, kind(frame_bytes))
        except FramingError:
            return
        assert version in (1, 2, 3) and not isinstance(version, bool)
        assert type(frame.payload) is bytes
        if version == 1:
            assert frame == BinaryFrame(0, frame_bytes)
            return
        # Accepted: re-encoding gives the same bytes, up to the fields decode ignores.
        canonical = bytearray(frame_bytes)
        if version == 2:
            canonical[0:2] = b"\x00\x02"
            canonical[4:8] = bytes(4)
        else:
            canonical[1] = 0
        assert encode_frame(version, frame) == bytes(canonical)

    check()


def build_frame(data: bytes) -> tuple[int, BinaryFrame]:
    b = Bytes(data)
    version = b.pick([1, 2, 3])
    valid = b.byte() % 5
    if valid:
        ftype = 0 if version == 1 else b.byte() * 256 + b.byte() if version == 2 else b.byte()
        ts = int.from_bytes(b.raw(5), "big") if version == 2 else 0
    else:  # out of range type or timestamp: must fail with FramingError only
        ftype = b.pick([-1, 1, 256, 2**16, 2**17, -(2**20)])
        ts = b.pick([-1, -(2**40), 2**33, 0])
    return version, BinaryFrame(ftype, b.raw(255) * (1 + b.byte() % 3), ts)


def test_frame_round_trips():
    @fuzz("frame_trip", st.binary(max_size=300))
    def check(data):
        version, frame = build_frame(data)
        try:
            encoded = encode_frame(version, frame)
        except FramingError:
            assert (version == 1 and frame.type != 0) or not 0 <= frame.type <= (
                0xFFFF if version == 2 else 0xFF) or (version == 2 and frame.timestamp_ms < 0)
            return
        back = decode_frame(version, encoded)
        ts = frame.timestamp_ms % 2**32 if version == 2 else 0
        assert back == BinaryFrame(frame.type if version > 1 else 0, frame.payload, ts)
        assert encode_frame(version, back) == encoded

    check()


def test_frame_size_limits():
    big = BinaryFrame(1, bytes(2**16 - 1))
    assert decode_frame(3, encode_frame(3, big)) == big
    with pytest.raises(FramingError):
        encode_frame(3, BinaryFrame(1, bytes(2**16)))
    huge = BinaryFrame(1, bytes(2**20), 2**32 + 5)
    assert decode_frame(2, encode_frame(2, huge)) == BinaryFrame(1, bytes(2**20), 5)


# -- client messages: encode -> parse ------------------------------------------------------

def _no_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    return value


def build_client_message(data: bytes) -> Any:
    b = Bytes(data)
    kind = b.byte() % 4
    if kind == 0:
        audio = AudioParams(b.pick(["opus", "pcm", "x1"]), b.pick([8000, 16000, 24000, 48000]),
                            b.pick([1, 2]), 1 + b.byte() * 4 % 1000)
        return ClientHello(b.int(), _no_surrogates(b.dict(0, finite=True)),
                           _no_surrogates(b.text()) or "websocket", audio)
    if kind == 1:
        return Listen(b.pick(sorted(LISTEN_STATES)), b.pick([None, *sorted(LISTEN_MODES)]),
                      b.pick([None, _no_surrogates(b.text(30))]))
    if kind == 2:
        return Abort(b.pick([None, _no_surrogates(b.text())]))
    return Mcp(_no_surrogates(b.dict(0, finite=True)))


def check_message_trip(msg: Any, as_bytes: bool) -> None:
    text = encode_client_message(msg)
    assert parse_client_message(text.encode() if as_bytes else text) == msg


def test_client_message_round_trips_built():
    @fuzz("message_trip_built", st.tuples(st.binary(max_size=200), st.booleans()))
    def check(case):
        check_message_trip(build_client_message(case[0]), case[1])

    check()


SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
FINITE_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(),
              st.floats(allow_nan=False, allow_infinity=False), SAFE_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(SAFE_TEXT, inner, max_size=3)),
    max_leaves=8,
)
AUDIO = st.builds(AudioParams, st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8),
                  st.integers(8000, 48000), st.integers(1, 2), st.integers(1, 1000))
CLIENT_MESSAGES = st.one_of(
    st.builds(ClientHello, st.integers(), st.dictionaries(SAFE_TEXT, FINITE_JSON, max_size=3),
              SAFE_TEXT.filter(bool), AUDIO),
    st.builds(Listen, st.sampled_from(sorted(LISTEN_STATES)),
              st.one_of(st.none(), st.sampled_from(sorted(LISTEN_MODES))), st.one_of(st.none(), SAFE_TEXT)),
    st.builds(Abort, st.one_of(st.none(), SAFE_TEXT)),
    st.builds(Mcp, st.dictionaries(SAFE_TEXT, FINITE_JSON, max_size=4)),
)


def test_client_message_round_trips_native():
    @fuzz("message_trip_native", st.tuples(CLIENT_MESSAGES, st.booleans()), batch=NATIVE_BATCH)
    def check(case):
        check_message_trip(*case)

    check()


# -- handshake identity --------------------------------------------------------------------

HEADER_NAMES = ["Device-Id", "device-id", "DEVICE_ID", " device-id ", "Client-Id", "client_id",
                "Authorization", "authorization", "Protocol-Version", "protocol_version", "Host"]


def build_request(data: bytes) -> tuple[dict[Any, Any], dict[Any, Any] | None]:
    b = Bytes(data)

    def value() -> Any:
        kind = b.byte() % 8
        if kind == 0:
            return b.pick(["1", "2", "3", "4", " 2 ", "Bearer", "Bearer abc", "bearer  x y",
                           "AA:BB:CC:DD:EE:FF", "", "\x00"])
        if kind == 1:
            return b.raw(20)
        if kind == 2:
            return [b.text() for _ in range(b.byte() % 3)]
        if kind == 3:
            return b.pick([None, 2, 2.5, ("a",), ()])
        if kind == 4:
            return b.text(4) * (b.byte() + 1)  # up to ~1000 chars: over the length limits
        return b.text(40)

    def mapping() -> dict[Any, Any]:
        return {(b.pick(HEADER_NAMES) if b.byte() % 3 else b.pick([b.text(6), 1, None])): value()
                for _ in range(b.byte() % 6)}

    return mapping(), (mapping() if b.byte() % 2 else None)


def test_identity_from_arbitrary_requests():
    @fuzz("identity", st.binary(max_size=200))
    def check(data):
        headers, query = build_request(data)
        ident = identity_from_request(headers, query)
        assert ident.protocol_version in (1, 2, 3)
        for value in (ident.device_id, ident.client_id):
            assert value is None or (0 < len(value) <= 128 and value.isprintable()
                                     and value == value.strip())
        assert ident.device_id is None or ident.device_id == ident.device_id.lower()
        assert isinstance(ident.token, str) and len(ident.token) <= 2048

    check()
