"""Every message on the wire, as pydantic models: the single source of the contract.

Receivers ignore fields they do not know (additive changes keep the major version), and
refuse payloads whose ``v`` is a major they do not speak.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import ProtocolError, RejectReason
from .topics import DEVICE_ID_PATTERN
from .version import ACCEPTED_MAJORS, PROTOCOL_MAJOR

# A note event is ~250 bytes; anything far beyond this is a bug or an attack.
MAX_PAYLOAD_BYTES: Final = 16 * 1024

DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN, description="Device id, [a-z0-9_-]")]
MidiValue = Annotated[int, Field(ge=0, le=127)]
SessionTime = Annotated[
    float, Field(ge=0, description="Seconds since the session started, on the bridge's clock")
]


def utc_now() -> datetime:
    return datetime.now(UTC)


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = Field(PROTOCOL_MAJOR, description="Protocol major version")


# ---------------------------------------------------------------- retained device topics


class Availability(WireModel):
    """``<base>/<device_id>/state`` and ``<base>/hub/state``: retained, set offline by the will."""

    state: Literal["online", "offline"]


class DeviceInfo(WireModel):
    """``<base>/<device_id>/info``: retained description of a device."""

    device_id: DeviceId
    name: str = Field("", max_length=200, description="Human name, e.g. the practice room")
    software_version: str
    engine_version: str | None = None
    protocol_version: str
    capabilities: list[str] = Field(default_factory=list, description="e.g. midi, audio")


class SessionState(WireModel):
    """``<base>/<device_id>/session``: retained current session; an empty payload means none."""

    device_id: DeviceId
    session_id: UUID
    started_at: datetime
    source: str = Field(max_length=500)
    piece_name: str | None = Field(None, max_length=255)


# ---------------------------------------------------------------- events


class EventBase(WireModel):
    """Fields every event carries: who sent it, its place in the device's stream, when."""

    device_id: DeviceId
    seq: int = Field(ge=1, description="Per-device sequence number, strictly increasing, from 1")
    ts: datetime = Field(description="When the bridge saw it (UTC, ISO 8601)")
    session_id: UUID | None = Field(None, description="The practice session it belongs to")


Origin = Literal["midi", "audio"]


class ScorePosition(BaseModel):
    """Where a performed note falls in the piece being followed (live score following)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bar: int = Field(description="Bar, unfolded numbering (a repeat's second pass counts on)")
    beat: Annotated[float, Field(ge=0)] = Field(description="Beat within the bar, from 1")
    label: Literal["match", "extra"] = Field(description="extra: no note of the score here")


class NoteOn(EventBase):
    kind: Literal["note_on"] = "note_on"
    pitch: MidiValue
    velocity: Annotated[int, Field(ge=1, le=127)]
    channel: Annotated[int, Field(ge=0, le=15)] = 0
    session_time: SessionTime
    origin: Origin = Field(
        "midi", description="midi: from the instrument; audio: heard by the microphone (estimated)"
    )
    position: ScorePosition | None = Field(
        None, description="Its place in the piece, once the session's piece is recognised"
    )


class PositionRevision(BaseModel):
    """A note placed anew: the position that replaces the one its note_on carried."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seq: int = Field(ge=1, description="The note_on event (its seq) whose position this replaces")
    position: ScorePosition


class PositionsRevised(EventBase):
    kind: Literal["positions_revised"] = "positions_revised"
    revisions: list[PositionRevision] = Field(
        min_length=1,
        max_length=64,
        description="Earlier notes of the session that the score follower placed anew once the "
        "notes after them showed where they belong: a restart recognised (its first notes, "
        "extra until then, matched), a note settled into its chord",
    )


class NoteOff(EventBase):
    kind: Literal["note_off"] = "note_off"
    pitch: MidiValue
    velocity: MidiValue = Field(0, description="Release velocity (0 when the piano sends none)")
    channel: Annotated[int, Field(ge=0, le=15)] = 0
    session_time: SessionTime
    origin: Origin = Field("midi", description="As in note_on")


class Pedal(EventBase):
    kind: Literal["pedal"] = "pedal"
    pedal: Literal["sustain", "sostenuto", "soft"]
    value: MidiValue = Field(description="Controller value; >= 64 is down")
    session_time: SessionTime


class SessionStarted(EventBase):
    kind: Literal["session_started"] = "session_started"
    session_id: UUID
    source: str = Field(max_length=500, description="Where the notes come from")
    piece_name: str | None = Field(None, max_length=255)


class SessionEnded(EventBase):
    kind: Literal["session_ended"] = "session_ended"
    session_id: UUID
    duration_seconds: Annotated[float, Field(ge=0)]
    note_count: Annotated[int, Field(ge=0)]
    reason: Literal["idle", "source_ended", "stopped"] = "idle"


class AudioFeatures(EventBase):
    """Engine figures over a short window of microphone audio."""

    kind: Literal["audio_features"] = "audio_features"
    session_time: SessionTime
    window_seconds: Annotated[float, Field(gt=0, le=10)]
    rms_dbfs: Annotated[float, Field(ge=-200, le=10)]
    peak_dbfs: Annotated[float, Field(ge=-200, le=10)]
    onset_times: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=list, max_length=1000, description="Onsets in the window, session time"
    )


class PieceRecognised(EventBase):
    """The session's first notes name a piece of the bridge's score library; from here on its
    note_on events carry their ``position`` in it."""

    kind: Literal["piece_recognised"] = "piece_recognised"
    session_id: UUID
    piece: str = Field(max_length=255, description="Title of the piece")
    score: str = Field(max_length=500, description="Its file in the library")
    bar: int | None = Field(None, description="Bar where the session started playing")
    confidence: Annotated[float, Field(ge=0, le=1)]
    notes_used: Annotated[int, Field(ge=0)] = Field(0, description="Notes it took to know")


Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]


class FeedbackItem(BaseModel):
    """One suggestion of an analysis: what to practise, where, and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str = Field(max_length=20, description="notes, tempo, rhythm, dynamics, chords, ...")
    bars: tuple[int, int] | None = Field(None, description="First and last bar it is about")
    hand: Literal["right", "left"] | None = None
    message: str = Field(max_length=500)


class SessionAnalysis(EventBase):
    """The engine's assessment of a finished session, sent by the bridge after session_ended.

    With a score (the piece recognised in the bridge's library): the metrics and feedback of
    the passage played. Without one (free play): tempo, its stability, evenness, dynamics.
    """

    kind: Literal["session_analysis"] = "session_analysis"
    session_id: UUID
    piece: str | None = Field(None, max_length=255, description="Title of the piece recognised")
    score: str | None = Field(None, max_length=500, description="Its file in the library")
    confidence: Share = Field(0.0, description="Share of the first notes the piece explains")
    first_bar: int | None = Field(None, description="First bar of the passage played")
    last_bar: int | None = None
    pitch_accuracy: Share | None = None
    rhythm_accuracy: Share | None = None
    dynamics_range: Share | None = None
    overall_score: Annotated[float, Field(ge=0, le=100)] | None = None
    matched: Count = 0
    wrong_pitch: Count = 0
    missed: Count = 0
    extra: Count = 0
    tempo_bpm: Annotated[float, Field(gt=0, le=1000)] | None = Field(
        None, description="Free play: the pulse, beats per minute"
    )
    tempo_stability: Share | None = Field(None, description="Free play: 1 = steady")
    evenness: Share | None = Field(None, description="Free play: evenness of runs, 1 = even")
    feedback: list[FeedbackItem] = Field(default_factory=list, max_length=10)


Event = Annotated[
    NoteOn
    | PositionsRevised
    | NoteOff
    | Pedal
    | SessionStarted
    | SessionEnded
    | AudioFeatures
    | PieceRecognised
    | SessionAnalysis,
    Field(discriminator="kind"),
]
EVENT_TYPES: Final[tuple[type[EventBase], ...]] = (
    NoteOn,
    PositionsRevised,
    NoteOff,
    Pedal,
    SessionStarted,
    SessionEnded,
    AudioFeatures,
    PieceRecognised,
    SessionAnalysis,
)
EVENT_KINDS: Final = frozenset(t.model_fields["kind"].default for t in EVENT_TYPES)
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


# ---------------------------------------------------------------- encode / decode


def encode(message: WireModel) -> bytes:
    return message.model_dump_json().encode()


def _load_json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(
            RejectReason.PAYLOAD_TOO_LARGE,
            f"{len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}",
        )
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(RejectReason.MALFORMED_JSON, str(exc)) from exc
    if not isinstance(data, dict):
        raise ProtocolError(RejectReason.INVALID_SCHEMA, "payload is not a JSON object")
    version = data.get("v")
    if version not in ACCEPTED_MAJORS:
        raise ProtocolError(
            RejectReason.UNSUPPORTED_VERSION,
            f"v={version!r}; this side speaks {sorted(ACCEPTED_MAJORS)}",
        )
    return data


def decode_event(payload: bytes, *, device_id: str | None = None, kind: str | None = None) -> Event:
    """Validate an event payload; when given, check it matches its topic's device and kind."""
    data = _load_json(payload)
    try:
        event = _EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError(RejectReason.INVALID_SCHEMA, _summarise(exc)) from exc
    if device_id is not None and event.device_id != device_id:
        raise ProtocolError(
            RejectReason.TOPIC_MISMATCH,
            f"device_id {event.device_id!r} published on the topic of {device_id!r}",
        )
    if kind is not None and event.kind != kind:
        raise ProtocolError(
            RejectReason.TOPIC_MISMATCH, f"kind {event.kind!r} published on events/{kind}"
        )
    return event


M = TypeVar("M", bound=WireModel)


def decode(model: type[M], payload: bytes) -> M:
    """Validate a non-event payload (availability, info, session)."""
    data = _load_json(payload)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(RejectReason.INVALID_SCHEMA, _summarise(exc)) from exc


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
