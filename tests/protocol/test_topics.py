from __future__ import annotations

import pytest

from etude_protocol import TopicError, Topics


def test_topics_build_and_parse_back() -> None:
    topics = Topics("etude")
    parsed = topics.parse(topics.event("room-1", "note_on"))
    assert (parsed.device_id, parsed.channel, parsed.kind) == ("room-1", "events", "note_on")
    assert topics.parse(topics.device_state("room-1")).channel == "state"
    assert topics.parse(topics.hub_state()).channel == "hub_state"


@pytest.mark.parametrize(
    "topic",
    [
        "other/room-1/state",
        "etude/Room 1/state",
        "etude/room-1/events",
        "etude/room-1/x/y/z",
        "etude/hub/events/note_on",
        "etude",
    ],
)
def test_foreign_or_malformed_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        Topics("etude").parse(topic)


def test_device_id_grammar() -> None:
    with pytest.raises(TopicError):
        Topics().event("a/b", "note_on")
    with pytest.raises(TopicError):
        Topics().device_state("hub")
