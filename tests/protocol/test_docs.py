"""docs/protocol.md is generated from the models; this fails when it has drifted."""

from __future__ import annotations

from pathlib import Path

from etude_protocol import EVENT_TYPES
from etude_protocol.docs import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_protocol_doc_is_up_to_date() -> None:
    assert DOC.read_text() == render_markdown(), "run `uv run etude protocol docs`"


def test_doc_names_every_event_and_field() -> None:
    text = render_markdown()
    for event in EVENT_TYPES:
        assert f"### {event.__name__}" in text
        for name in event.model_fields:
            assert f"`{name}`" in text
