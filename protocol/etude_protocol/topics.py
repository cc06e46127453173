"""The MQTT topic layout, in one place.

Everything hangs off one base topic (``etude`` by default)::

    <base>/hub/state                    retained  hub availability (birth/will)
    <base>/<device_id>/state            retained  device availability (birth/will)
    <base>/<device_id>/info             retained  software, engine and protocol versions
    <base>/<device_id>/session          retained  current practice session (empty: none)
    <base>/<device_id>/events/<kind>    QoS 1     one event; carries device_id, seq and ts

Device ids are limited to ``[a-z0-9_-]``, as Home Assistant limits object ids, so that a
topic can always be split back into its parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

DEFAULT_BASE: Final = "etude"
QOS: Final = 1
DEVICE_ID_PATTERN: Final = r"^[a-z0-9_-]{1,64}$"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
HUB_NODE: Final = "hub"


class TopicError(ValueError):
    """A topic or id that does not follow the layout."""


def check_device_id(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id) or device_id == HUB_NODE:
        raise TopicError(
            f"device id {device_id!r} must be 1-64 characters of a-z, 0-9, '_' or '-' "
            f"(and not {HUB_NODE!r})"
        )
    return device_id


@dataclass(frozen=True)
class Topics:
    """Topic builders and parsers for one base topic."""

    base: str = DEFAULT_BASE

    def hub_state(self) -> str:
        return f"{self.base}/{HUB_NODE}/state"

    def device_state(self, device_id: str) -> str:
        return f"{self.base}/{check_device_id(device_id)}/state"

    def device_info(self, device_id: str) -> str:
        return f"{self.base}/{check_device_id(device_id)}/info"

    def device_session(self, device_id: str) -> str:
        return f"{self.base}/{check_device_id(device_id)}/session"

    def event(self, device_id: str, kind: str) -> str:
        return f"{self.base}/{check_device_id(device_id)}/events/{kind}"

    # Subscriptions used by the hub.
    def all_events(self) -> str:
        return f"{self.base}/+/events/+"

    def all_device_states(self) -> str:
        return f"{self.base}/+/state"

    def all_device_infos(self) -> str:
        return f"{self.base}/+/info"

    def parse(self, topic: str) -> ParsedTopic:
        """Split a topic into (device_id, channel, kind); raise TopicError when it is not ours."""
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != self.base:
            raise TopicError(f"topic {topic!r} is not under {self.base!r}")
        node = parts[1]
        if node == HUB_NODE:
            if parts[2:] == ["state"]:
                return ParsedTopic(device_id=None, channel="hub_state", kind=None)
            raise TopicError(f"unknown hub topic {topic!r}")
        check_device_id(node)
        if len(parts) == 3 and parts[2] in ("state", "info", "session"):
            return ParsedTopic(device_id=node, channel=parts[2], kind=None)
        if len(parts) == 4 and parts[2] == "events":
            return ParsedTopic(device_id=node, channel="events", kind=parts[3])
        raise TopicError(f"unknown topic {topic!r}")


@dataclass(frozen=True)
class ParsedTopic:
    device_id: str | None
    channel: str  # "hub_state" | "state" | "info" | "session" | "events"
    kind: str | None
