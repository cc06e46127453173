"""How the last session went: the piece, its figures and what to practise next."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from etude_protocol import SessionAnalysis


def _percent(x: float | None) -> str:
    return "–" if x is None else f"{round(100 * x)}%"


def describe(analysis: SessionAnalysis) -> Text:
    """The panel's text for one analysis (a function of the message only, so it is testable)."""
    text = Text()
    if analysis.piece:
        bars = f", bars {analysis.first_bar}–{analysis.last_bar}" if analysis.first_bar else ""
        text.append(f"{analysis.piece}{bars}\n", style="bold")
        score = "–" if analysis.overall_score is None else f"{analysis.overall_score:.0f}"
        text.append(
            f"score {score}   pitch {_percent(analysis.pitch_accuracy)}   "
            f"rhythm {_percent(analysis.rhythm_accuracy)}   "
            f"missed {analysis.missed}   wrong {analysis.wrong_pitch}   extra {analysis.extra}\n"
        )
    else:
        tempo = "–" if analysis.tempo_bpm is None else f"{analysis.tempo_bpm:.0f} bpm"
        text.append("Free play\n", style="bold")
        text.append(
            f"tempo {tempo}   steadiness {_percent(analysis.tempo_stability)}   "
            f"evenness {_percent(analysis.evenness)}   "
            f"dynamics {_percent(analysis.dynamics_range)}\n"
        )
    for k, item in enumerate(analysis.feedback, start=1):
        text.append(f"{k}. {item.message}\n")
    if analysis.piece and not analysis.feedback:
        text.append("Nothing to flag: well played.\n", style="dim")
    return text


class AnalysisPanel(Static):
    """Hidden until the first analysis arrives."""

    def show(self, analysis: SessionAnalysis) -> None:
        self.update(describe(analysis))
        self.add_class("shown")
