"""Protocol events the tests publish by hand."""

from __future__ import annotations

import uuid
from datetime import datetime

from etude_protocol import PieceRecognised, SessionStarted


def named_session(
    device: str, session_id: uuid.UUID, now: datetime, piece: str, score: str
) -> list[SessionStarted | PieceRecognised]:
    """A session's first two events (seq 1 and 2): it starts, and its piece is named at bar 1."""
    return [
        SessionStarted(device_id=device, seq=1, ts=now, session_id=session_id, source="test"),
        PieceRecognised(
            device_id=device,
            seq=2,
            ts=now,
            session_id=session_id,
            piece=piece,
            score=score,
            bar=1,
            confidence=0.98,
        ),
    ]
