"""Etude's wire contract: MQTT topics and message schemas, shared by bridge, hub and tui.

Pure: no I/O, no MQTT client. See docs/protocol.md (generated from these definitions).
"""

from .errors import ProtocolError, RejectReason
from .live import LIVE_TYPES, Live, LiveAvailability, LiveEvent, LiveReplayDone
from .messages import (
    EVENT_KINDS,
    EVENT_TYPES,
    MAX_PAYLOAD_BYTES,
    AudioFeatures,
    Availability,
    DeviceInfo,
    Event,
    EventBase,
    FeedbackItem,
    NoteOff,
    NoteOn,
    Pedal,
    SessionAnalysis,
    SessionEnded,
    SessionStarted,
    SessionState,
    WireModel,
    decode,
    decode_event,
    encode,
    utc_now,
)
from .topics import DEFAULT_BASE, QOS, ParsedTopic, TopicError, Topics, check_device_id
from .version import PROTOCOL_MAJOR, PROTOCOL_VERSION

__all__ = [
    "DEFAULT_BASE",
    "EVENT_KINDS",
    "EVENT_TYPES",
    "LIVE_TYPES",
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_MAJOR",
    "PROTOCOL_VERSION",
    "QOS",
    "AudioFeatures",
    "Availability",
    "DeviceInfo",
    "Event",
    "EventBase",
    "FeedbackItem",
    "Live",
    "LiveAvailability",
    "LiveEvent",
    "LiveReplayDone",
    "NoteOff",
    "NoteOn",
    "ParsedTopic",
    "Pedal",
    "ProtocolError",
    "RejectReason",
    "SessionAnalysis",
    "SessionEnded",
    "SessionStarted",
    "SessionState",
    "TopicError",
    "Topics",
    "WireModel",
    "check_device_id",
    "decode",
    "decode_event",
    "encode",
    "utc_now",
]
