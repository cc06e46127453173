"""What the room is doing: connection, session, counts."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class SessionPanel(Static):
    connected: reactive[bool] = reactive(False)
    in_session: reactive[bool] = reactive(False)
    notes: reactive[int] = reactive(0)
    session_time: reactive[float] = reactive(0.0)
    device_state: reactive[str] = reactive("unknown")
    piece: reactive[str | None] = reactive(None)
    bar: reactive[int | None] = reactive(None)

    def render(self) -> str:
        link = "live" if self.connected else "reconnecting…"
        session = "playing" if self.in_session else "idle"
        following = ""
        if self.piece:
            following = f"   {self.piece}" + (f", bar {self.bar}" if self.bar else "")
        return (
            f"hub: {link}   device: {self.device_state}   session: {session}   "
            f"notes: {self.notes}   time: {self.session_time:.1f}s{following}"
        )

    def watch_connected(self, connected: bool) -> None:
        self.set_class(connected, "connected")
