"""Messages of the hub's WebSocket live stream (``/api/v1/devices/{device_id}/live?since=N``),
read by the web page and the terminal client. Same versioning rules as the MQTT payloads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .messages import Event


class LiveMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LiveEvent(LiveMessage):
    """One stored event, replayed or live, exactly as the bridge sent it."""

    type: Literal["event"] = "event"
    event: Event


class LiveReplayDone(LiveMessage):
    """The replay of stored events after ``since`` is complete; live events follow."""

    type: Literal["replay_done"] = "replay_done"
    last_seq: int = Field(ge=0, description="The last seq sent so far (= since when none)")


class LiveAvailability(LiveMessage):
    """The device went online or offline."""

    type: Literal["availability"] = "availability"
    device_id: str
    state: Literal["online", "offline"]


Live = Annotated[LiveEvent | LiveReplayDone | LiveAvailability, Field(discriminator="type")]
LIVE_TYPES: tuple[type[LiveMessage], ...] = (LiveEvent, LiveReplayDone, LiveAvailability)
