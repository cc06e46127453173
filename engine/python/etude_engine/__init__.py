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
    Alignment,
    ChunkFigures,
    Dynamics,
    FollowStep,
    LoudnessFrame,
    Note,
    NoteEvent,
    NoteOff,
    OnsetLevel,
    PieceIndex,
    PitchCheck,
    PitchFrame,
    PitchTrack,
    Score,
    ScoreFollower,
    StreamingAnalyser,
    __version__,
    align,
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
    InvalidPerformanceError,
    InvalidScoreError,
)

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SILENCE_FLOOR_DBFS",
    "Alignment",
    "AudioTypeError",
    "ChunkFigures",
    "Dynamics",
    "EngineError",
    "FollowStep",
    "InvalidAudioError",
    "InvalidConfigError",
    "InvalidPerformanceError",
    "InvalidScoreError",
    "LoudnessFrame",
    "Note",
    "NoteEvent",
    "NoteOff",
    "OnsetLevel",
    "PieceIndex",
    "PitchCheck",
    "PitchFrame",
    "PitchTrack",
    "Score",
    "ScoreFollower",
    "StreamingAnalyser",
    "__version__",
    "align",
    "analyze_dynamics",
    "check_pitches",
    "detect_onsets",
    "detect_pitch",
    "exceptions",
    "levels",
    "transcribe",
]
