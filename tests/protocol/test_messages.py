"""The wire contract: round trips, validation and refusal reasons."""

from __future__ import annotations

import json
import uuid

import pytest

from etude_protocol import (
    EVENT_KINDS,
    MAX_PAYLOAD_BYTES,
    Availability,
    DeviceInfo,
    NoteOn,
    ProtocolError,
    RejectReason,
    SessionAnalysis,
    SessionStarted,
    decode,
    decode_event,
    encode,
    utc_now,
)


def note_on(**overrides: object) -> NoteOn:
    fields: dict[str, object] = {
        "device_id": "room-1",
        "seq": 7,
        "ts": utc_now(),
        "pitch": 60,
        "velocity": 80,
        "session_time": 1.5,
    }
    fields.update(overrides)
    return NoteOn.model_validate(fields)


def test_event_round_trip_keeps_every_field() -> None:
    event = note_on(session_id=uuid.uuid4())
    decoded = decode_event(encode(event), device_id="room-1", kind="note_on")
    assert decoded == event
    assert json.loads(encode(event))["v"] == 1


def test_every_event_kind_has_a_distinct_name() -> None:
    assert {
        "note_on",
        "note_off",
        "pedal",
        "session_started",
        "session_ended",
        "audio_features",
        "piece_recognised",
        "positions_revised",
        "session_analysis",
    } == EVENT_KINDS


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", RejectReason.MALFORMED_JSON),
        (b"\xff\xfe", RejectReason.MALFORMED_JSON),
        (b"[1, 2]", RejectReason.INVALID_SCHEMA),
        (b'{"v": 99, "kind": "note_on"}', RejectReason.UNSUPPORTED_VERSION),
        (b'{"v": 1, "kind": "note_on", "device_id": "room-1"}', RejectReason.INVALID_SCHEMA),
        (b'{"v": 1, "kind": "teleport"}', RejectReason.INVALID_SCHEMA),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_event(payload)
    assert caught.value.reason is reason


def test_out_of_range_values_are_refused() -> None:
    for bad in ({"pitch": 128}, {"velocity": 0}, {"seq": 0}, {"device_id": "Room 1"}):
        payload = json.loads(encode(note_on()))
        payload.update(bad)
        with pytest.raises(ProtocolError) as caught:
            decode_event(json.dumps(payload).encode())
        assert caught.value.reason is RejectReason.INVALID_SCHEMA, bad


def test_oversized_payload_is_refused_before_parsing() -> None:
    payload = b'{"v": 1, "pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    with pytest.raises(ProtocolError) as caught:
        decode_event(payload)
    assert caught.value.reason is RejectReason.PAYLOAD_TOO_LARGE


def test_event_must_match_its_topic() -> None:
    payload = encode(note_on())
    with pytest.raises(ProtocolError) as caught:
        decode_event(payload, device_id="room-2")
    assert caught.value.reason is RejectReason.TOPIC_MISMATCH
    with pytest.raises(ProtocolError):
        decode_event(payload, kind="note_off")


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    payload = json.loads(encode(note_on()))
    payload["finger"] = 3
    assert decode_event(json.dumps(payload).encode()).pitch == 60


def test_session_started_requires_a_session_id() -> None:
    with pytest.raises(ValueError):
        SessionStarted.model_validate({"device_id": "a", "seq": 1, "ts": utc_now(), "source": "x"})


def test_retained_messages_decode() -> None:
    assert decode(Availability, b'{"v":1,"state":"online"}').state == "online"
    info = DeviceInfo(device_id="a", software_version="1", protocol_version="1.0")
    assert decode(DeviceInfo, encode(info)) == info
    with pytest.raises(ProtocolError):
        decode(Availability, b'{"v":1,"state":"sleepy"}')


def analysis_payload(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "v": 1,
        "kind": "session_analysis",
        "device_id": "room-1",
        "seq": 9,
        "ts": "2026-11-25T12:00:00Z",
        "session_id": str(uuid.uuid4()),
        "piece": "Mozart K. 331",
        "overall_score": 91.0,
        "pitch_accuracy": 0.97,
        "feedback": [
            {"kind": "tempo", "bars": [3, 4], "hand": None, "message": "Bars 3–4: rushed"}
        ],
    }
    fields.update(overrides)
    return fields


def test_session_analysis_round_trip() -> None:
    event = decode_event(json.dumps(analysis_payload()).encode())
    assert isinstance(event, SessionAnalysis)
    assert event.feedback[0].bars == (3, 4) and event.overall_score == 91.0
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize(
    "bad",
    [
        {"overall_score": 150},
        {"pitch_accuracy": -0.1},
        {"session_id": None},
        {"feedback": [{"kind": "notes", "message": "x" * 501}]},
        {"feedback": [{"kind": "notes", "message": "m"}] * 11},
        {"feedback": [{"kind": "notes", "hand": "both", "message": "m"}]},
    ],
)
def test_bad_session_analysis_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_event(json.dumps(analysis_payload(**bad)).encode())
    assert caught.value.reason is RejectReason.INVALID_SCHEMA


@pytest.mark.parametrize(
    "bad",
    [
        {"position": {"bar": 3, "beat": 1.0, "label": "wrong"}},
        {"position": {"bar": 3, "beat": -1.0, "label": "match"}},
        {"position": {"beat": 1.0, "label": "match"}},
    ],
)
def test_bad_note_position_is_refused(bad: dict[str, object]) -> None:
    payload = json.loads(encode(note_on())) | bad
    with pytest.raises(ProtocolError) as caught:
        decode_event(json.dumps(payload).encode())
    assert caught.value.reason is RejectReason.INVALID_SCHEMA


def test_piece_recognised_round_trip_and_bad_confidence() -> None:
    fields = {
        "v": 1,
        "kind": "piece_recognised",
        "device_id": "room-1",
        "seq": 3,
        "ts": "2026-11-25T12:00:00Z",
        "session_id": str(uuid.uuid4()),
        "piece": "K. 331",
        "score": "k331.musicxml",
        "bar": 12,
        "confidence": 0.97,
    }
    event = decode_event(json.dumps(fields).encode())
    assert event.kind == "piece_recognised" and decode_event(encode(event)) == event
    with pytest.raises(ProtocolError) as caught:
        decode_event(json.dumps(fields | {"confidence": 2.0}).encode())
    assert caught.value.reason is RejectReason.INVALID_SCHEMA


def revision_payload(**overrides: object) -> dict[str, object]:
    return {
        "v": 1,
        "kind": "positions_revised",
        "device_id": "room-1",
        "seq": 40,
        "ts": "2026-12-02T12:00:00Z",
        "session_id": str(uuid.uuid4()),
        "revisions": [
            {"seq": 31, "position": {"bar": 12, "beat": 1.0, "label": "match"}},
            {"seq": 33, "position": {"bar": 12, "beat": 2.5, "label": "extra"}},
        ],
    } | overrides


def test_positions_revised_round_trip() -> None:
    event = decode_event(json.dumps(revision_payload()).encode(), kind="positions_revised")
    assert event.kind == "positions_revised"
    assert [r.seq for r in event.revisions] == [31, 33]
    assert event.revisions[1].position.label == "extra"
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize(
    "bad",
    [
        {"revisions": []},
        {"revisions": [{"seq": 0, "position": {"bar": 1, "beat": 1.0, "label": "match"}}]},
        {"revisions": [{"seq": 5}]},
        {"revisions": [{"seq": 5, "position": {"bar": 1, "beat": 1.0}}]},
    ],
)
def test_bad_positions_revised_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_event(json.dumps(revision_payload(**bad)).encode())
    assert caught.value.reason is RejectReason.INVALID_SCHEMA
