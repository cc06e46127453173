"""The page, in a real Chromium, draws the notes of a replayed performance as they arrive, then
shows the engine's analysis of the session."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest

from etude_protocol import (
    NoteOn,
    PositionRevision,
    PositionsRevised,
    ScorePosition,
    Topics,
    encode,
    utc_now,
)
from support.browser import chromium
from support.etude import count_note_ons, embedded_broker, performance, start_bridge, start_hub
from support.events import named_session
from support.midi import VIENNA
from support.mqtt import publish_all

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Counts the canvas pixels painted in the notes' amber (hue ~40°), i.e. actually drawn notes.
AMBER_PIXELS = """() => {
  const c = document.getElementById('roll');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
    if (r > 120 && g > 70 && b < 90 && r - b > 80) n++;
  }
  return n;
}"""


async def test_page_draws_replayed_notes_live(tmp_path: Path) -> None:
    midi = performance("Mozart_K331_1st-mov_p01")
    expected = count_note_ons(midi)
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(VIENNA / "musicxml" / "Mozart_K331_1st-mov.musicxml", library)
    with embedded_broker(tmp_path) as mqtt_port:
        hub = await asyncio.to_thread(
            start_hub, tmp_path, f"sqlite+aiosqlite:///{tmp_path}/etude.db", mqtt_port
        )
        try:
            async with chromium() as browser:
                page = await browser.new_page(viewport={"width": 1200, "height": 700})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(hub.url)
                assert await page.title() == "Etude — live piano roll"
                bridge = start_bridge(
                    tmp_path, mqtt_port, midi, speed=30, extra=["--score-library", str(library)]
                )
                await page.wait_for_function(
                    "() => window.etudeRoll && window.etudeRoll.connected", timeout=30_000
                )
                await page.wait_for_function(
                    f"() => window.etudeRoll.notesDrawn === {expected}", timeout=90_000
                )
                following = await page.evaluate("() => window.etudeRoll.following")
                header = await page.text_content("#following")
                assert await asyncio.to_thread(bridge.popen.wait, 60) == 0
                painted = await page.evaluate(AMBER_PIXELS)
                await page.wait_for_selector("#analysis:not([hidden])", timeout=60_000)
                analysis = await page.inner_text("#analysis")
                # A second take of the piece: the panel lists the first under "Earlier takes".
                again = start_bridge(
                    tmp_path, mqtt_port, midi, speed=30, extra=["--score-library", str(library)]
                )
                assert await asyncio.to_thread(again.popen.wait, 90) == 0
                await page.wait_for_selector("#analysis .history li", timeout=60_000)
                history = await page.inner_text("#analysis .history")
                await page.screenshot(path=str(tmp_path / "page.png"))
                # A third take, then a fresh page: it replays the last two sessions only,
                # not the device's whole history, and shows the same things.
                third = start_bridge(
                    tmp_path, mqtt_port, midi, speed=30, extra=["--score-library", str(library)]
                )
                assert await asyncio.to_thread(third.popen.wait, 90) == 0
                await page.wait_for_function(
                    "() => document.querySelectorAll('#analysis .history li').length === 2",
                    timeout=60_000,
                )
                sessions = await asyncio.to_thread(hub.get, "/api/v1/devices/piano-1/sessions")
                await page.reload()
                await page.wait_for_selector("#analysis:not([hidden])", timeout=60_000)
                await page.wait_for_function(
                    f"() => window.etudeRoll.notesDrawn === {expected}", timeout=60_000
                )
                replayed_from = await page.evaluate("() => window.etudeRoll.replayedFrom")
                counts = await page.text_content("#counts")
                assert errors == []
        finally:
            hub.proc.terminate()
    assert painted > 500, f"only {painted} note pixels on the canvas"
    assert counts is not None and counts.startswith(f"{expected} notes")
    assert "Mozart_K331_1st-mov, bars 1–" in analysis
    assert history.startswith("Earlier takes") and len(history.strip().splitlines()) == 2
    assert len(sessions) == 3 and replayed_from == sessions[1]["first_seq"] - 1 > 0
    assert following["piece"] == "Mozart_K331_1st-mov" and following["bar"] >= 30
    assert header == f"Mozart_K331_1st-mov · bar {following['bar']}"
    assert "score" in analysis and "pitch" in analysis and "%" in analysis


async def test_page_redraws_a_note_the_follower_placed_anew(tmp_path: Path) -> None:
    """A note drawn as extra (red) is drawn as the score's once a positions_revised event
    places it anew."""
    device, sid, now = "piano-2", uuid.uuid4(), utc_now()
    topics = Topics()

    def note(seq: int, pitch: int, label: str) -> NoteOn:
        return NoteOn(
            device_id=device,
            seq=seq,
            ts=now,
            session_id=sid,
            pitch=pitch,
            velocity=80,
            session_time=float(seq),
            position=ScorePosition(bar=1, beat=1.0, label=label),  # type: ignore[arg-type]
        )

    played = [
        *named_session(device, sid, now, "K. 331", "k331.xml"),
        note(3, 60, "match"),
        note(4, 64, "extra"),
        note(5, 67, "extra"),
    ]
    revised = PositionsRevised(
        device_id=device,
        seq=6,
        ts=now,
        session_id=sid,
        revisions=[PositionRevision(seq=4, position=ScorePosition(bar=1, beat=2.0, label="match"))],
    )
    with embedded_broker(tmp_path) as mqtt_port:
        hub = await asyncio.to_thread(
            start_hub, tmp_path, f"sqlite+aiosqlite:///{tmp_path}/etude.db", mqtt_port
        )
        try:
            messages = [(topics.event(device, e.kind), encode(e)) for e in played]
            await asyncio.to_thread(publish_all, mqtt_port, messages)
            async with chromium() as browser:
                page = await browser.new_page(viewport={"width": 1000, "height": 600})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(f"{hub.url}?device={device}")
                await page.wait_for_function(
                    "() => window.etudeRoll && window.etudeRoll.notesDrawn === 3", timeout=30_000
                )
                before = await page.evaluate("() => window.etudeRoll.extraNotes")
                again = [(topics.event(device, revised.kind), encode(revised))]
                await asyncio.to_thread(publish_all, mqtt_port, again)
                await page.wait_for_function("() => window.etudeRoll.lastSeq === 6", timeout=30_000)
                after = await page.evaluate("() => window.etudeRoll.extraNotes")
                assert errors == []
        finally:
            hub.proc.terminate()
    assert before == [4, 5]
    assert after == [5]
