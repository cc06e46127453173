"""The live view: a keyboard lighting the keys being played, the notes as they come, and
the state of the room. All hub I/O happens in a worker; widgets only get messages."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from etude_protocol import (
    LiveAvailability,
    LiveEvent,
    NoteOff,
    NoteOn,
    PieceRecognised,
    PositionsRevised,
    ScorePosition,
    SessionAnalysis,
    SessionEnded,
    SessionStarted,
)

from .client import LiveStream
from .widgets import AnalysisPanel, Keyboard, NoteLog, SessionPanel


def where(position: ScorePosition | None) -> str:
    """A note's place in the piece for the note log: "bar 12 beat 3", "extra", or nothing."""
    if position is None:
        return ""
    if position.label == "extra":
        return "extra"
    return f"bar {position.bar} beat {position.beat:g}"


class EtudeApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Etude"
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit"), Binding("c", "clear", "Clear notes")]

    def __init__(self, hub_url: str, device_id: str) -> None:
        super().__init__()
        self.stream = LiveStream(hub_url, device_id)
        self.sub_title = f"{device_id} @ {hub_url}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield SessionPanel()
        yield Keyboard()
        yield AnalysisPanel()
        yield NoteLog()
        yield Footer()

    def on_mount(self) -> None:
        self.follow()

    @work(exclusive=True)
    async def follow(self) -> None:
        panel = self.query_one(SessionPanel)
        async for message in self.stream.messages():
            panel.connected = self.stream.connected
            if isinstance(message, LiveEvent):
                self.show_event(message)
            elif isinstance(message, LiveAvailability):
                panel.device_state = message.state

    def show_event(self, message: LiveEvent) -> None:
        event = message.event
        panel = self.query_one(SessionPanel)
        keyboard = self.query_one(Keyboard)
        if isinstance(event, SessionStarted):
            panel.in_session, panel.notes, panel.session_time = True, 0, 0.0
            panel.piece = panel.bar = None
            keyboard.clear()
        elif isinstance(event, SessionEnded):
            panel.in_session = False
            keyboard.clear()
        elif isinstance(event, NoteOn):
            keyboard.press(event.pitch)
            panel.notes += 1
            panel.session_time = event.session_time
            if event.position is not None and event.position.label == "match":
                panel.bar = event.position.bar
            self.query_one(NoteLog).add_note(
                event.session_time, event.pitch, event.velocity, event.seq, where(event.position)
            )
        elif isinstance(event, PositionsRevised):
            log = self.query_one(NoteLog)
            for revision in event.revisions:
                log.revise(revision.seq, where(revision.position))
        elif isinstance(event, PieceRecognised):
            panel.piece, panel.bar = event.piece, event.bar
        elif isinstance(event, SessionAnalysis):
            self.query_one(AnalysisPanel).show(event)
        elif isinstance(event, NoteOff):
            keyboard.release(event.pitch)
            panel.session_time = max(panel.session_time, event.session_time)

    def action_clear(self) -> None:
        self.query_one(NoteLog).clear()
        self.query_one(Keyboard).clear()
