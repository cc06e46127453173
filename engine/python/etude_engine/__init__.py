"""Etude's analysis engine: streaming audio analysis in Rust, used from Python.

Audio is mono ``numpy.float32`` in ``[-1, 1]`` (1-D arrays, read in place).

>>> import numpy as np
>>> from etude_engine import StreamingAnalyser
>>> analyser = StreamingAnalyser(44_100)
>>> figures = analyser.process(np.zeros(512, dtype=np.float32))
>>> figures.rms_dbfs
-120.0
"""

from __future__ import annotations

from etude_engine import exceptions
from etude_engine._engine import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SILENCE_FLOOR_DBFS,
    ChunkFigures,
    Dynamics,
    LoudnessFrame,
    Note,
    NoteEvent,
    NoteOff,
    OnsetLevel,
    PitchCheck,
    PitchFrame,
    PitchTrack,
    StreamingAnalyser,
    __version__,
    analyze_dynamics,
    check_pitches,
    detect_onsets,
    detect_pitch,
    levels,
    transcribe,
)
from etude_engine.exceptions import (
    AudioTypeError,
    EngineError,
    InvalidAudioError,
    InvalidConfigError,
)

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SILENCE_FLOOR_DBFS",
    "AudioTypeError",
    "ChunkFigures",
    "Dynamics",
    "EngineError",
    "InvalidAudioError",
    "InvalidConfigError",
    "LoudnessFrame",
    "Note",
    "NoteEvent",
    "NoteOff",
    "OnsetLevel",
    "PitchCheck",
    "PitchFrame",
    "PitchTrack",
    "StreamingAnalyser",
    "__version__",
    "analyze_dynamics",
    "check_pitches",
    "detect_onsets",
    "detect_pitch",
    "exceptions",
    "levels",
    "transcribe",
]
