from .keyboard import Keyboard
from .note_log import NoteLog
from .session_panel import SessionPanel

__all__ = ["Keyboard", "NoteLog", "SessionPanel"]
