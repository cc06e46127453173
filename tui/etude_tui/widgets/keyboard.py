"""An 88-key keyboard, one character per key, lighting the keys that sound now."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

LOWEST, HIGHEST = 21, 108
BLACK = {1, 3, 6, 8, 10}


class Keyboard(Widget):
    DEFAULT_CSS = """
    Keyboard { height: 3; }
    """

    sounding: reactive[frozenset[int]] = reactive(frozenset())

    def press(self, pitch: int) -> None:
        self.sounding = self.sounding | {pitch}

    def release(self, pitch: int) -> None:
        self.sounding = self.sounding - {pitch}

    def clear(self) -> None:
        self.sounding = frozenset()

    def render(self) -> Text:
        text = Text()
        for row in range(2):
            for pitch in range(LOWEST, HIGHEST + 1):
                black = pitch % 12 in BLACK
                lit = pitch in self.sounding
                if row == 0:
                    style = "bold #f0b429" if lit else ("#555555" if black else "#dddddd")
                    text.append("▇" if black else "█", style=style)
                else:
                    text.append("▔", style="#f0b429" if lit else "#333333")
            text.append("\n")
        text.append("A0" + " " * (HIGHEST - LOWEST - 3) + "C8", style="dim")
        return text
