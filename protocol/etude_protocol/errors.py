"""Why a message was refused. Codes are stable strings: counters and logs use them."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    INVALID_SCHEMA = "invalid_schema"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOPIC_MISMATCH = "topic_mismatch"
    UNKNOWN_TOPIC = "unknown_topic"


class ProtocolError(ValueError):
    """A payload that does not follow the wire contract."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
