"""Tests for daemon.protocol.messages and .codec: parsing device messages, encoding server messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.protocol import (
    DEFAULT_CLIENT_AUDIO,
    DEFAULT_SERVER_AUDIO,
    Abort,
    Alert,
    AudioParams,
    ClientHello,
    Listen,
    Llm,
    Mcp,
    ProtocolError,
    ServerHello,
    Stt,
    System,
    Tts,
    encode_client_message,
    encode_server_message,
    parse_client_message,
)

FIRMWARE_HELLO = (
    '{"type":"hello","version":1,"features":{"aec":true,"mcp":true},"transport":"websocket",'
    '"audio_params":{"format":"opus","sample_rate":16000,"channels":1,"frame_duration":60}}'
)


# --------------------------------------------------------------------------- hello


def test_full_firmware_hello() -> None:
    msg = parse_client_message(FIRMWARE_HELLO)
    assert msg == ClientHello(
        version=1,
        features={"aec": True, "mcp": True},
        transport="websocket",
        audio_params=AudioParams("opus", 16000, 1, 60),
    )


def test_hello_as_bytes() -> None:
    assert parse_client_message(FIRMWARE_HELLO.encode()) == parse_client_message(FIRMWARE_HELLO)


def test_hello_with_utf8_bom() -> None:
    data = b"\xef\xbb\xbf" + FIRMWARE_HELLO.encode()
    assert isinstance(parse_client_message(data), ClientHello)


def test_hello_without_transport() -> None:
    msg = parse_client_message(
        '{"type":"hello","version":1,"audio_params":{"format":"opus","sample_rate":16000,'
        '"channels":1,"frame_duration":60}}'
    )
    assert isinstance(msg, ClientHello)
    assert msg.transport == "websocket"


def test_hello_without_audio_params() -> None:
    msg = parse_client_message('{"type":"hello","version":1,"transport":"websocket"}')
    assert isinstance(msg, ClientHello)
    assert msg.audio_params == DEFAULT_CLIENT_AUDIO
    assert msg.audio_params == AudioParams("opus", 16000, 1, 60)


def test_minimal_hello_gets_all_defaults() -> None:
    msg = parse_client_message('{"type":"hello"}')
    assert msg == ClientHello(
        version=1, features={}, transport="websocket", audio_params=DEFAULT_CLIENT_AUDIO
    )


def test_hello_null_fields_get_defaults() -> None:
    msg = parse_client_message(
        '{"type":"hello","version":null,"features":null,"transport":null,"audio_params":null}'
    )
    assert msg == ClientHello()


def test_hello_frame_duration_20() -> None:
    msg = parse_client_message(
        '{"type":"hello","audio_params":{"format":"opus","sample_rate":16000,'
        '"channels":1,"frame_duration":20}}'
    )
    assert isinstance(msg, ClientHello)
    assert msg.audio_params.frame_duration == 20


def test_hello_partial_audio_params_filled_with_defaults() -> None:
    msg = parse_client_message('{"type":"hello","audio_params":{"sample_rate":24000}}')
    assert isinstance(msg, ClientHello)
    assert msg.audio_params == AudioParams("opus", 24000, 1, 60)


def test_hello_integral_float_accepted_and_format_normalised() -> None:
    msg = parse_client_message(
        '{"type":"hello","audio_params":{"format":" OPUS ","sample_rate":16000.0,'
        '"frame_duration":60}}'
    )
    assert isinstance(msg, ClientHello)
    assert msg.audio_params == AudioParams("opus", 16000, 1, 60)
    assert isinstance(msg.audio_params.sample_rate, int)


@pytest.mark.parametrize("session_id", ['"session_id":"abc",', '"session_id":"",', ""])
def test_hello_session_id_present_empty_or_missing(session_id: str) -> None:
    msg = parse_client_message('{"type":"hello",' + session_id + '"version":3}')
    assert msg == ClientHello(version=3)


def test_hello_extra_keys_ignored() -> None:
    obj = json.loads(FIRMWARE_HELLO)
    obj["session_id"] = "x"
    obj["future_field"] = {"nested": [1, 2, 3]}
    obj["audio_params"]["bitrate"] = 24000
    assert parse_client_message(json.dumps(obj)) == parse_client_message(FIRMWARE_HELLO)


@pytest.mark.parametrize(
    ("audio_params", "reason"),
    [
        ('{"sample_rate":"abc"}', "sample_rate must be an integer"),
        ('{"sample_rate":true}', "sample_rate must be an integer"),
        ('{"sample_rate":16000.5}', "sample_rate must be an integer"),
        ('{"sample_rate":7999}', "sample_rate"),
        ('{"sample_rate":48001}', "sample_rate"),
        ('{"frame_duration":0}', "frame_duration"),
        ('{"frame_duration":-20}', "frame_duration"),
        ('{"frame_duration":1001}', "frame_duration"),
        ('{"channels":0}', "channels"),
        ('{"channels":6}', "channels"),
        ('{"format":5}', "format must be a string"),
        ('{"format":""}', "format"),
        ('"opus"', "audio_params must be an object"),
        ("[16000]", "audio_params must be an object"),
    ],
)
def test_hello_bad_audio_params(audio_params: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message('{"type":"hello","audio_params":' + audio_params + "}")
    assert reason in info.value.reason


def test_hello_sample_rate_bounds_inclusive() -> None:
    for rate in (8000, 48000):
        msg = parse_client_message(
            json.dumps({"type": "hello", "audio_params": {"sample_rate": rate}})
        )
        assert isinstance(msg, ClientHello)
        assert msg.audio_params.sample_rate == rate
    msg = parse_client_message('{"type":"hello","audio_params":{"frame_duration":1000}}')
    assert isinstance(msg, ClientHello)
    assert msg.audio_params.frame_duration == 1000


@pytest.mark.parametrize(
    "body",
    [
        '"version":"1"',
        '"version":true',
        '"features":[]',
        '"features":"aec"',
        '"transport":5',
    ],
)
def test_hello_bad_field_types(body: str) -> None:
    with pytest.raises(ProtocolError):
        parse_client_message('{"type":"hello",' + body + "}")


def test_audio_params_validate_on_construction() -> None:
    with pytest.raises(ProtocolError):
        AudioParams(sample_rate=100)
    with pytest.raises(ValueError):
        AudioParams(frame_duration=0)


# --------------------------------------------------------------------------- listen / abort / mcp


@pytest.mark.parametrize("mode", ["auto", "manual", "realtime"])
def test_listen_start_modes(mode: str) -> None:
    msg = parse_client_message(
        json.dumps({"session_id": "", "type": "listen", "state": "start", "mode": mode})
    )
    assert msg == Listen(state="start", mode=mode)  # type: ignore[arg-type]


def test_listen_stop_without_mode() -> None:
    assert parse_client_message('{"type":"listen","state":"stop"}') == Listen("stop")


def test_listen_empty_mode_is_none() -> None:
    assert parse_client_message('{"type":"listen","state":"stop","mode":""}') == Listen("stop")


def test_listen_detect_with_text() -> None:
    msg = parse_client_message('{"type":"listen","state":"detect","text":"你好小智"}')
    assert msg == Listen(state="detect", text="你好小智")
    assert isinstance(msg, Listen)
    assert msg.mode is None


@pytest.mark.parametrize(
    "body",
    [
        '{"type":"listen","state":"pause"}',
        '{"type":"listen","state":"START"}',
        '{"type":"listen"}',
        '{"type":"listen","state":1}',
        '{"type":"listen","state":"start","mode":"push"}',
        '{"type":"listen","state":"start","mode":1}',
        '{"type":"listen","state":"detect","text":42}',
    ],
)
def test_listen_invalid(body: str) -> None:
    with pytest.raises(ProtocolError):
        parse_client_message(body)


def test_listen_bad_state_reason() -> None:
    with pytest.raises(ProtocolError, match="invalid listen state 'pause'"):
        parse_client_message('{"type":"listen","state":"pause"}')


def test_listen_constructor_validates() -> None:
    with pytest.raises(ProtocolError):
        Listen(state="bogus")  # type: ignore[arg-type]


def test_abort_plain_and_with_reason() -> None:
    assert parse_client_message('{"type":"abort"}') == Abort()
    assert parse_client_message(
        '{"session_id":"s","type":"abort","reason":"wake_word_detected"}'
    ) == Abort(reason="wake_word_detected")
    with pytest.raises(ProtocolError):
        parse_client_message('{"type":"abort","reason":1}')


def test_mcp_from_device() -> None:
    payload = {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}}
    msg = parse_client_message(json.dumps({"session_id": "", "type": "mcp", "payload": payload}))
    assert msg == Mcp(payload=payload)


@pytest.mark.parametrize("payload", ["", ',"payload":null', ',"payload":[1]', ',"payload":"x"'])
def test_mcp_bad_payload(payload: str) -> None:
    with pytest.raises(ProtocolError, match="payload"):
        parse_client_message('{"type":"mcp"' + payload + "}")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        ('{"type":"hello"', "invalid JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"hello"', "not a JSON object"),
        ("null", "not a JSON object"),
        ("42", "not a JSON object"),
        ("{}", "missing message type"),
        ('{"type":null}', "missing message type"),
        ('{"type":3}', "message type must be a string"),
        ('{"type":"goodbye"}', "unknown message type 'goodbye'"),
        ('{"type":"Hello"}', "unknown message type 'Hello'"),
        (b"\xff\xfe{}", "UTF-8"),
        ("[" * 100_000, "invalid JSON"),
        ("1" * 5000, "invalid JSON"),
    ],
)
def test_protocol_errors(data: str | bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(data)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason
    assert isinstance(info.value, ValueError)


def test_unknown_type_reason_is_short() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"type": "x" * 10_000}))
    assert len(info.value.reason) < 100


def test_non_text_input_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_client_message(123)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- encoding


def test_encode_server_hello_is_complete() -> None:
    text = encode_server_message(ServerHello(session_id="abc"))
    assert text == (
        '{"type":"hello","transport":"websocket","session_id":"abc",'
        '"audio_params":{"format":"opus","sample_rate":24000,"channels":1,"frame_duration":60}}'
    )
    assert ServerHello("abc").audio_params == DEFAULT_SERVER_AUDIO


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (Stt("今天天气怎么样"), {"type": "stt", "text": "今天天气怎么样"}),
        (Llm("happy", "😀"), {"type": "llm", "text": "😀", "emotion": "happy"}),
        (Llm("neutral"), {"type": "llm", "text": "", "emotion": "neutral"}),
        (Tts("start"), {"type": "tts", "state": "start"}),
        (Tts("stop"), {"type": "tts", "state": "stop"}),
        (
            Tts("sentence_start", "你好。"),
            {"type": "tts", "state": "sentence_start", "text": "你好。"},
        ),
        (Tts("sentence_end", "你好。"), {"type": "tts", "state": "sentence_end", "text": "你好。"}),
        (
            Mcp({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
            {
                "type": "mcp",
                "payload": {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            },
        ),
        (
            Alert("Warning", "Low battery", "sad"),
            {"type": "alert", "status": "Warning", "message": "Low battery", "emotion": "sad"},
        ),
        (System("reboot"), {"type": "system", "command": "reboot"}),
    ],
)
def test_encode_server_messages(msg: object, expected: dict[str, object]) -> None:
    text = encode_server_message(msg)  # type: ignore[arg-type]
    assert json.loads(text) == expected
    assert text.startswith('{"type":')
    assert ", " not in text and ": " not in text  # compact separators


def test_encode_keeps_non_ascii() -> None:
    text = encode_server_message(Stt("你好 😀"))
    assert "你好 😀" in text
    assert "\\u" not in text


def test_tts_rejects_bad_state() -> None:
    with pytest.raises(ValueError):
        Tts("paused")  # type: ignore[arg-type]


def test_encode_rejects_client_message_and_garbage() -> None:
    with pytest.raises(TypeError):
        encode_server_message(Listen("start"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_server_message({"type": "stt"})  # type: ignore[arg-type]


def test_encode_rejects_nan_in_payload() -> None:
    with pytest.raises(ValueError):
        encode_server_message(Mcp({"x": float("nan")}))


@pytest.mark.parametrize(
    "msg",
    [
        ClientHello(version=3, features={"mcp": True}, audio_params=AudioParams(frame_duration=20)),
        ClientHello(),
        Listen("start", "realtime"),
        Listen("stop"),
        Listen("detect", text="小智"),
        Abort(),
        Abort("wake_word_detected"),
        Mcp({"jsonrpc": "2.0", "id": 5, "result": {}}),
    ],
)
def test_client_messages_round_trip(msg: object) -> None:
    assert parse_client_message(encode_client_message(msg)) == msg  # type: ignore[arg-type]


def test_encode_client_rejects_server_message() -> None:
    with pytest.raises(TypeError):
        encode_client_message(Stt("x"))  # type: ignore[arg-type]


def test_messages_are_frozen() -> None:
    msg = Stt("x")
    with pytest.raises(AttributeError):
        msg.text = "y"  # type: ignore[misc]


# --------------------------------------------------------------------------- properties

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["start", "stop", "detect", "auto", "opus", 60, 16000, 20.0])
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)


def _field(*good: object) -> st.SearchStrategy[object]:
    """Half the time a plausible value, half the time arbitrary JSON."""
    return st.sampled_from(good) | _json


_hello_like = st.fixed_dictionaries(
    {"type": st.just("hello")},
    optional={
        "version": _field(1, 2, 3),
        "features": _field({}, {"mcp": True}),
        "transport": _field("websocket"),
        "audio_params": _json
        | st.fixed_dictionaries(
            {},
            optional={
                "format": _field("opus", "OPUS"),
                "sample_rate": _field(16000, 24000, 16000.0),
                "channels": _field(1, 2),
                "frame_duration": _field(20, 60),
            },
        ),
        "session_id": _json,
    },
)
_listen_like = st.fixed_dictionaries(
    {"type": st.just("listen"), "state": _field("start", "stop", "detect")},
    optional={
        "mode": _field("auto", "manual", "realtime", ""),
        "text": _field("小智"),
        "session_id": _json,
    },
)
_other_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["abort", "mcp", "stt", "iot"]) | _json_scalars},
    optional={
        "reason": _field("wake_word_detected"),
        "payload": _field({"id": 1}),
        "session_id": _json,
    },
)
_message_like = _hello_like | _listen_like | _other_like


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_parse_arbitrary_input_only_raises_protocol_error(data: str | bytes) -> None:
    try:
        msg = parse_client_message(data)
    except ProtocolError:
        return
    assert isinstance(msg, (ClientHello, Listen, Abort, Mcp))


@settings(max_examples=200, deadline=None)
@given(_message_like)
def test_parse_message_like_objects_only_raises_protocol_error(obj: dict[str, object]) -> None:
    try:
        text = json.dumps(obj)
    except ValueError:
        return
    try:
        msg = parse_client_message(text)
    except ProtocolError:
        return
    assert isinstance(msg, (ClientHello, Listen, Abort, Mcp))
    # whatever parsed must encode back to something that parses to the same message
    assert parse_client_message(encode_client_message(msg)) == msg
