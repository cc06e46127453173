"""The on-device outbox: every event is written here before it is published, and removed
only once the broker has acknowledged it. With no network the bridge keeps working and
the events wait on disk; a restart of the bridge loses nothing and continues the sequence.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    topic: str
    payload: bytes


class Outbox:
    """A thread-safe SQLite queue with a persistent per-device sequence counter."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def append(self, build: Callable[[int], tuple[str, bytes]]) -> int:
        """Reserve the next sequence number, build (topic, payload) with it, store both."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE name='seq'").fetchone()
                seq = (row[0] if row else 0) + 1
                topic, payload = build(seq)
                self._db.execute(
                    "INSERT INTO outbox(seq, topic, payload, created_at) VALUES (?, ?, ?, ?)",
                    (seq, topic, payload, time.time()),
                )
                self._db.execute(
                    "INSERT INTO counters(name, value) VALUES ('seq', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                    (seq,),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return seq

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxItem(seq, topic, bytes(payload)) for seq, topic, payload in rows]

    def delete(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @property
    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name='seq'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
