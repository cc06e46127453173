"""Practice-session detection: the first note starts a session; a quiet spell or the end of a
replayed file ends it. Times are on the source's clock, so a replay at 10× still gives
session times of the performance itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass
class ActiveSession:
    id: uuid.UUID
    start: float
    last_activity: float
    note_count: int = 0


class SessionTracker:
    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self.current: ActiveSession | None = None

    def on_activity(self, t: float, *, is_note: bool) -> ActiveSession | None:
        """Record activity at t; return the session if this activity started it."""
        started = None
        if self.current is None:
            self.current = started = ActiveSession(uuid.uuid4(), start=t, last_activity=t)
        self.current.last_activity = max(self.current.last_activity, t)
        if is_note:
            self.current.note_count += 1
        return started

    def session_time(self, t: float) -> float:
        return max(0.0, t - self.current.start) if self.current else 0.0

    def idle_expired(self, t: float) -> bool:
        return self.current is not None and t - self.current.last_activity >= self.idle_timeout

    def end(self) -> ActiveSession | None:
        ended, self.current = self.current, None
        return ended
