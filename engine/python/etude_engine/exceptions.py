"""Exceptions raised by :mod:`etude_engine`.

Defined once, here, in Python; the Rust extension raises these very classes.

Hierarchy::

    Exception
    └── EngineError
        ├── InvalidAudioError (also ValueError)
        │   └── AudioTypeError (also TypeError)
        ├── InvalidConfigError (also ValueError)
        ├── InvalidScoreError (also ValueError)
        └── InvalidPerformanceError (also ValueError)

Catch :class:`EngineError` for anything the engine refuses, or the standard
``ValueError`` / ``TypeError`` as with any other library.
"""

from __future__ import annotations

__all__ = [
    "AudioTypeError",
    "EngineError",
    "InvalidAudioError",
    "InvalidConfigError",
    "InvalidPerformanceError",
    "InvalidScoreError",
]


class EngineError(Exception):
    """Base class of every error raised by the analysis engine."""


class InvalidAudioError(EngineError, ValueError):
    """The audio cannot be analysed: empty, NaN or infinite samples, or not 1-D."""


class AudioTypeError(InvalidAudioError, TypeError):
    """The audio is not a numpy array of float32 (e.g. float64, int16, a list).

    Nothing is converted silently: convert explicitly, e.g.
    ``samples.astype(numpy.float32)``.
    """


class InvalidConfigError(EngineError, ValueError):
    """A setting is out of range: sample rate, frame size or hop size."""


class InvalidScoreError(EngineError, ValueError):
    """A score cannot be used: a missing, corrupt or unsupported file, or bad note data.

    The message names the file (when there is one) and the problem.
    """


class InvalidPerformanceError(EngineError, ValueError):
    """A performance cannot be used: an unreadable MIDI file or bad note data."""
