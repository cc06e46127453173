from .analysis_panel import AnalysisPanel
from .keyboard import Keyboard
from .note_log import NoteLog
from .session_panel import SessionPanel

__all__ = ["AnalysisPanel", "Keyboard", "NoteLog", "SessionPanel"]
