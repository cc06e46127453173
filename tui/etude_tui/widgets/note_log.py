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
        _, _, _, self._score_column, _ = self.add_columns(
            "time", "note", "velocity", "score", "seq"
        )

    def add_note(
        self, session_time: float, pitch: int, velocity: int, seq: int, where: str = ""
    ) -> None:
        """`where`: the note's place in the piece being followed ("bar 12.3", "extra")."""
        if str(seq) in self.rows:
            return  # the same event again (a replay overlapping the live stream)
        if self.row_count >= KEEP:
            self.remove_row(next(iter(self.rows)))
        row = (f"{session_time:7.2f}s", note_name(pitch), str(velocity), where, str(seq))
        self.add_row(*row, key=str(seq))
        self.scroll_end(animate=False)

    def revise(self, seq: int, where: str) -> None:
        """The note of event `seq` placed anew (if it is still in the log)."""
        if str(seq) in self.rows:
            self.update_cell(str(seq), self._score_column, where)
