"""The most recent notes, newest at the bottom."""

from __future__ import annotations

from textual.widgets import DataTable

NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"]
KEEP = 500


def note_name(pitch: int) -> str:
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


class NoteLog(DataTable[str]):
    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.add_columns("time", "note", "velocity", "score", "seq")

    def add_note(
        self, session_time: float, pitch: int, velocity: int, seq: int, where: str = ""
    ) -> None:
        """`where`: the note's place in the piece being followed ("bar 12.3", "extra")."""
        if self.row_count >= KEEP:
            self.remove_row(next(iter(self.rows)))
        self.add_row(f"{session_time:7.2f}s", note_name(pitch), str(velocity), where, str(seq))
        self.scroll_end(animate=False)
