"""Typed stubs for the Rust extension ``etude_engine._engine`` (hand-written).

Audio arguments must be 1-D ``numpy.ndarray`` of ``float32`` (mono, full
scale = ±1.0). They are read in place; a non-contiguous view is copied once.
Nothing is converted silently:

* not an ndarray, or a dtype other than float32 → :class:`~etude_engine.exceptions.AudioTypeError`
* not 1-D, empty, or containing NaN/±inf → :class:`~etude_engine.exceptions.InvalidAudioError`
* sample rate outside ``MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE``, bad frame or hop
  size → :class:`~etude_engine.exceptions.InvalidConfigError`
"""

from collections.abc import Iterable, Sequence
from typing import Any, Final, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SILENCE_FLOOR_DBFS",
    "Alignment",
    "ChunkFigures",
    "Dynamics",
    "FollowStep",
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
    "levels",
    "transcribe",
]

__version__: Final[str]
"""Version of the engine (the Rust crate's version)."""

SILENCE_FLOOR_DBFS: Final[float]
"""Lowest level reported (-120.0 dBFS); digital silence reads exactly this."""

MIN_SAMPLE_RATE: Final[int]
"""Lowest accepted sample rate, Hz (4000)."""

MAX_SAMPLE_RATE: Final[int]
"""Highest accepted sample rate, Hz (768000)."""

@final
class ChunkFigures:
    """What :meth:`StreamingAnalyser.process` found in one chunk. Immutable."""

    @property
    def rms_dbfs(self) -> float:
        """RMS level of the chunk, dBFS (0 dBFS = full-scale square wave)."""

    @property
    def peak_dbfs(self) -> float:
        """Peak absolute sample of the chunk, dBFS."""

    @property
    def onset(self) -> bool:
        """Whether any onset was confirmed while processing this chunk."""

    @property
    def onset_times(self) -> list[float]:
        """Onsets confirmed in this chunk, seconds since the stream started.

        An onset is confirmed ``latency_samples`` after its position, so its
        time may fall in an earlier chunk. Times lie on the hop grid
        (``n * hop_size + frame_size / 2`` samples).
        """

    @property
    def flux(self) -> float:
        """Largest spectral flux of the frames completed in this chunk (0.0 if none)."""

    @property
    def frames(self) -> int:
        """Number of analysis frames completed in this chunk (0 for a short chunk)."""

    @property
    def onset_strengths(self) -> list[float]:
        """Spectral flux of each onset in :attr:`onset_times`."""

    @property
    def pitch(self) -> list[PitchFrame]:
        """Pitch frames (YIN) completed in this chunk; empty with ``pitch=False``."""

    @property
    def loudness(self) -> list[LoudnessFrame]:
        """RMS of each 512-sample hop completed in this chunk."""

    @property
    def notes(self) -> list[NoteEvent]:
        """Notes whose onset analysis completed in this chunk.

        A note is known ~93 ms after its onset at 44.1 kHz (its analysis frame,
        3072 samples starting 1024 after the onset, must be complete); its end
        comes later, as a :class:`NoteOff`.
        """

    @property
    def note_offs(self) -> list[NoteOff]:
        """Ends of notes reported earlier."""

    @property
    def onset_levels(self) -> list[OnsetLevel]:
        """Loudness and estimated velocity of each onset analysed in this chunk."""

    @property
    def checks(self) -> list[PitchCheck]:
        """Score-informed checks (see :meth:`StreamingAnalyser.expect`)."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class PitchFrame:
    """The monophonic pitch estimate (YIN) of one frame. Immutable."""

    @property
    def time(self) -> float:
        """Frame centre, seconds since the stream started."""

    @property
    def f0(self) -> float:
        """Fundamental frequency, Hz (0.0 for a silent frame)."""

    @property
    def confidence(self) -> float:
        """Periodicity, 0..1 (``1 - d'`` at the chosen lag)."""

    @property
    def voiced(self) -> bool:
        """Whether the frame is periodic enough (YIN's threshold) and not silent."""

    @property
    def midi(self) -> float | None:
        """The f0 as a fractional MIDI note number; None when f0 is 0."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class LoudnessFrame:
    """RMS of one hop of the stream. Immutable."""

    @property
    def time(self) -> float:
        """Centre of the hop, seconds."""

    @property
    def rms_dbfs(self) -> float:
        """RMS of the hop, dBFS."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class NoteEvent:
    """A note found at an onset, while streaming. Immutable."""

    @property
    def pitch(self) -> int:
        """MIDI note number (21..=108)."""

    @property
    def onset(self) -> float:
        """Onset time, seconds (on the onset detector's hop grid)."""

    @property
    def velocity(self) -> int:
        """Estimated MIDI velocity, 1..=127 (from ``level_dbfs``)."""

    @property
    def level_dbfs(self) -> float:
        """Amplitude of the note's partials at its onset, dBFS."""

    @property
    def confidence(self) -> float:
        """0..1; how far the note cleared its threshold (0.5 = just)."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class NoteOff:
    """The end of a note reported earlier; ``(pitch, onset)`` name the note."""

    @property
    def pitch(self) -> int: ...
    @property
    def onset(self) -> float: ...
    @property
    def offset(self) -> float:
        """End time, seconds."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Note:
    """A whole note from :func:`transcribe` or :func:`analyze_dynamics`. Immutable."""

    @property
    def pitch(self) -> int:
        """MIDI note number."""

    @property
    def onset(self) -> float:
        """Seconds."""

    @property
    def offset(self) -> float:
        """Seconds; notes still sounding at the end end there."""

    @property
    def velocity(self) -> int:
        """Estimated MIDI velocity, 1..=127."""

    @property
    def level_dbfs(self) -> float:
        """Amplitude of its partials at the onset, dBFS."""

    @property
    def confidence(self) -> float:
        """0..1 (0.5 = just over the threshold)."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class OnsetLevel:
    """The loudness of what an onset added. Immutable."""

    @property
    def time(self) -> float:
        """Onset time, seconds."""

    @property
    def level_dbfs(self) -> float:
        """Amplitude of the new sound (spectrum after minus before), dBFS."""

    @property
    def frame_dbfs(self) -> float:
        """RMS of all that sounds just after the onset, dBFS."""

    @property
    def velocity(self) -> int:
        """Estimated MIDI velocity: the loudest note's, else from ``level_dbfs``."""

    @property
    def notes(self) -> int:
        """How many notes were found at this onset."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class PitchCheck:
    """Score-informed: whether an expected pitch sounded at an onset. Immutable."""

    @property
    def pitch(self) -> int:
        """The expected MIDI pitch."""

    @property
    def time(self) -> float:
        """Onset time, seconds."""

    @property
    def sounded(self) -> bool:
        """Whether it was heard (``confidence >= 0.5``)."""

    @property
    def confidence(self) -> float:
        """0..1; 0.5 is the decision threshold."""

    @property
    def level_dbfs(self) -> float:
        """Its level if sounded, dBFS (``SILENCE_FLOOR_DBFS`` otherwise)."""

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class PitchTrack:
    """Pitch frames of a whole buffer, as arrays (one element per frame)."""

    @property
    def times(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Frame centres, seconds."""

    @property
    def f0(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Hz; 0.0 where silent."""

    @property
    def confidence(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """0..1 per frame."""

    @property
    def voiced(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Whether each frame is voiced."""

    def __len__(self) -> int: ...

@final
class Dynamics:
    """Loudness of a whole buffer: per hop, per onset and per note."""

    @property
    def rms_dbfs(self) -> float:
        """RMS of the whole buffer, dBFS."""

    @property
    def peak_dbfs(self) -> float:
        """Peak of the whole buffer, dBFS."""

    @property
    def frame_times(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Centre of each 512-sample hop, seconds."""

    @property
    def frame_rms_dbfs(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """RMS of each hop, dBFS."""

    @property
    def onsets(self) -> list[OnsetLevel]:
        """Each onset's loudness and estimated velocity."""

    @property
    def notes(self) -> list[Note]:
        """Each note with its estimated velocity."""

@final
class StreamingAnalyser:
    """Analyses a live mono stream chunk by chunk.

    Chunks may have any length (1 sample or more) and need not match the
    frame or hop size: the analyser keeps its own overlap buffer, so the
    onsets found are the same for any chunking, and the same as
    :func:`detect_onsets` on the whole stream.

    :param sample_rate: Hz, ``MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE``.
    :param frame_size: FFT frame in samples (even, 64..=65536).
    :param hop_size: samples between frames (1..=frame_size); onset times are
        quantised to it (loudness frames stay 512 samples).
    :raises InvalidConfigError: for an out-of-range argument.
    """

    def __new__(
        cls,
        sample_rate: int,
        frame_size: int = 1024,
        hop_size: int = 256,
        *,
        pitch: bool = True,
        notes: bool = True,
    ) -> StreamingAnalyser: ...
    def process(self, chunk: npt.NDArray[np.float32]) -> ChunkFigures:
        """Analyses the next chunk of the stream.

        A rejected chunk leaves the analyser as it was.

        :raises AudioTypeError: ``chunk`` is not a float32 ndarray.
        :raises InvalidAudioError: ``chunk`` is not 1-D, is empty, or has NaN/inf.
        """

    def expect(self, pitches: Iterable[int]) -> None:
        """Score-informed mode: the MIDI pitches the score expects at the next onset.

        When that onset's notes are known, the chunk's figures carry one
        :class:`PitchCheck` per pitch in :attr:`ChunkFigures.checks`. Replaces an
        expectation not yet attached to an onset; ``[]`` clears it. Does
        nothing with ``notes=False``.

        :raises InvalidConfigError: a pitch outside 21..=108 (nothing changes).
        :raises TypeError: not an iterable of ints.
        """

    def finish(self) -> list[NoteOff]:
        """Ends the stream: the ends of the notes still sounding; then resets."""

    def reset(self) -> None:
        """Starts a new stream: ``samples_seen`` and onset times restart from 0."""

    @property
    def sample_rate(self) -> int:
        """The stream's sample rate, Hz."""

    @property
    def samples_seen(self) -> int:
        """Samples processed since creation or the last :meth:`reset`."""

    @property
    def frame_size(self) -> int:
        """FFT frame size in samples."""

    @property
    def hop_size(self) -> int:
        """Hop between frames in samples."""

    @property
    def latency_samples(self) -> int:
        """Delay between an onset and its report: ``frame_size // 2`` (no look-ahead)."""

def levels(samples: npt.NDArray[np.float32]) -> tuple[float, float]:
    """RMS and peak level of a buffer: ``(rms_dbfs, peak_dbfs)``.

    A sine peaking at -6 dBFS gives about ``(-9.01, -6.0)``; silence gives
    ``(SILENCE_FLOOR_DBFS, SILENCE_FLOOR_DBFS)``.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    """

def detect_onsets(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    frame_size: int = 1024,
    hop_size: int = 256,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Onset times of a whole buffer, in seconds, ascending (float64 array).

    Level-normalised spectral flux (running level and per-bin noise floor,
    SuperFlux-style maximum filter) with an adaptive threshold, decided as
    soon as a frame is complete; the same result as streaming the buffer
    through a :class:`StreamingAnalyser`. No onset is reported in the first
    ~0.21 s (the threshold's warm-up) nor in the last ``frame_size // 2``
    samples (their frame is not complete).
    Releases the GIL while it works.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate, frame size or hop size.
    """

def detect_pitch(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    frame_size: int | None = None,
    hop_size: int = 512,
    fmin: float | None = None,
    fmax: float | None = None,
    threshold: float = 0.15,
) -> PitchTrack:
    """Monophonic pitch (YIN) of a whole buffer, one frame per hop.

    Defaults: a ~46 ms frame (2048 samples at 44.1/48 kHz, half of it the
    integration window), hop 512, 43–2100 Hz, threshold 0.15, frames under
    -60 dBFS RMS silent. Piano chords have no single f0: use :func:`transcribe`.
    The same frames as :attr:`ChunkFigures.pitch` when streaming.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate, sizes, fmin/fmax or threshold.
    """

def transcribe(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    frame_size: int | None = None,
    max_polyphony: int = 8,
    relative_threshold: float | None = None,
    floor_ratio: float | None = None,
    reference_dbfs: float | None = None,
    method: str = "learned",
) -> list[Note]:
    """Polyphonic notes of a whole buffer, by onset then pitch.

    At each onset, the spectra after and before it are compared: by default
    (``method="learned"``) a small learned model judges every piano pitch
    from their semitone bands; ``method="harmonic"`` searches the spectrum
    after minus before by harmonic sum with iterative subtraction (the
    earlier, untrained method; ``relative_threshold`` and ``floor_ratio``
    apply to it only). The same notes as streaming the buffer through
    :class:`StreamingAnalyser`.
    ``frame_size`` (default ~70 ms: 3072 at 44.1 kHz, starting a third of it,
    at most 1024 samples, after the onset) trades latency for low notes. Releases the GIL.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate or setting, unknown ``method``.
    """

def analyze_dynamics(samples: npt.NDArray[np.float32], sample_rate: int) -> Dynamics:
    """Loudness per 512-sample hop, per onset and per note, with estimated velocities.

    Velocities map a note's level 40 dB below ``-10 dBFS`` to velocity 1 and
    ``-10 dBFS`` to 127 (``v = 127 * 10**((level + 10) / 40)``); the ranking is
    what to trust, the absolute values depend on microphone gain.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate.
    """

def check_pitches(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    time: float,
    pitches: Iterable[int],
) -> list[PitchCheck]:
    """Score-informed check: which of the expected ``pitches`` sounded at ``time``.

    ``time`` (seconds) is the onset, e.g. from :func:`detect_onsets` or the score
    follower; one :class:`PitchCheck` per pitch, in the given order.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate, ``time`` outside the buffer, or
        a pitch outside 21..=108.
    :raises TypeError: ``pitches`` is not an iterable of ints.
    """

# -- assessment (issue 5) ------------------------------------------------------

@final
class Score:
    """A score in the engine's compact model: one entry per note, columns of equal length.

    Built by :func:`etude_engine.scores.load_score`; onsets in quarters (``onset_q``) and in
    seconds at the notated tempo (``onset_s``); ``hand`` 0 = right, 1 = left; ``dynamic`` the
    loudness the markings ask for on 0–1 (NaN: none). Bad values raise ``InvalidScoreError``.
    """

    def __new__(
        cls,
        pitch: Sequence[int],
        onset_q: Sequence[float],
        duration_q: Sequence[float],
        onset_s: Sequence[float],
        duration_s: Sequence[float],
        bar: Sequence[int],
        beat: Sequence[float],
        hand: Sequence[int],
        voice: Sequence[int],
        grace: Sequence[bool],
        ornament: Sequence[bool],
        dynamic: Sequence[float],
    ) -> Score: ...
    def __len__(self) -> int: ...
    @property
    def onset_count(self) -> int:
        """Number of distinct onsets (chords count once)."""
    def primary(self, i: int) -> int:
        """The note played for note ``i``: itself, or the longest note of its unison."""

@final
class Alignment:
    """Result of :func:`align`: one entry per score note (per pass, for restarts)."""

    @property
    def note_score_index(self) -> npt.NDArray[np.int64]: ...
    @property
    def note_label(self) -> list[str]:
        """``"match"``, ``"wrong_pitch"`` or ``"missed"`` per entry."""
    @property
    def note_perf_index(self) -> npt.NDArray[np.int64]:
        """Performed note of each entry, -1 for none."""
    @property
    def note_timing_dev_s(self) -> npt.NDArray[np.float64]:
        """Onset minus the local tempo line, seconds (NaN: none)."""
    @property
    def note_duration_ratio(self) -> npt.NDArray[np.float64]: ...
    @property
    def note_segment(self) -> npt.NDArray[np.int64]: ...
    @property
    def note_is_final(self) -> npt.NDArray[np.bool_]:
        """True for the last pass through each score note (the one that counts)."""
    @property
    def perf_label(self) -> list[str]:
        """``"match"``, ``"wrong_pitch"`` or ``"extra"`` per performed note."""
    @property
    def perf_score_index(self) -> npt.NDArray[np.int64]: ...
    @property
    def perf_score_q(self) -> npt.NDArray[np.float64]: ...
    @property
    def perf_segment(self) -> npt.NDArray[np.int64]: ...
    @property
    def tempo(self) -> dict[str, npt.NDArray[Any]]:
        """Tempo curve columns: score_q, time_s, qpm, spread_s, segment."""
    @property
    def segment_starts(self) -> list[int]: ...
    def metrics(self) -> dict[str, Any]:
        """Every figure of docs/assessment.md, with per-hand and per-bar breakdowns."""
    def __len__(self) -> int: ...

def align(
    score: Score,
    pitch: Sequence[int],
    onset_s: Sequence[float],
    offset_s: Sequence[float],
    velocity: Sequence[int],
    *,
    jump_cost: float | None = None,
    sigma_s: float | None = None,
    gap_cost: float | None = None,
) -> Alignment:
    """Aligns performed notes (any order; results use their indices) to ``score``."""

@final
class FollowStep:
    """What :class:`ScoreFollower` says about one performed note (immutable)."""

    @property
    def index(self) -> int:
        """The performed note's number (0 for the first note pushed)."""
    @property
    def score_note(self) -> int | None:
        """Index of the score note it plays, or None: extra."""
    @property
    def label(self) -> str:
        """``"match"`` or ``"extra"``."""
    @property
    def bar(self) -> int | None:
        """Score position — the matched note's; for an extra note, where it was played (before
        anything was recognised, the start of the score, one onset per note) — bar as printed
        (None only for an empty score)."""
    @property
    def beat(self) -> float | None:
        """Beat within the bar, from 1."""
    @property
    def score_q(self) -> float | None:
        """Quarters from the start of the unfolded score."""
    @property
    def score_s(self) -> float | None:
        """Seconds at the notated tempo."""
    @property
    def cost(self) -> float:
        """Cost of the match (0: as expected; NaN: extra or a jump)."""
    @property
    def jumped(self) -> bool:
        """The follower jumped here (a restart from an earlier bar, a skip ahead)."""
    @property
    def revised(self) -> list[tuple[int, int]]:
        """Earlier notes re-matched by a jump, by this note showing that their chord is the
        next onset's, or settled (the note played seven notes before this one, placed by when
        its group and its neighbours were played): (performed index, score note)."""
    @property
    def revised_extra(self) -> list[tuple[int, float]]:
        """Earlier notes of the pass a jump revised that it does not explain, now extra (one
        matched before in the copy the follower had taken too): (performed index, quarters from
        the start where it was played in the revised pass)."""
    @property
    def qpm(self) -> float:
        """Current local tempo, quarters per minute."""

@final
class ScoreFollower:
    """Causal score follower: :meth:`push` one performed note at a time, in playing order.

    Bounded work per note (a window of onsets ahead, a few restart candidates from a pitch
    trigram index when lost). Robust to wrong, missed and extra notes, rolled chords,
    rubato, pauses, restarts and skips. See docs/assessment.md.
    """

    def __new__(
        cls,
        score: Score,
        *,
        window: int | None = None,
        max_cost: float | None = None,
        skip_cost: float | None = None,
    ) -> ScoreFollower: ...
    def push(self, pitch: int, onset_s: float, velocity: int = 64) -> FollowStep:
        """Follows one note; ``InvalidPerformanceError`` for a bad pitch, velocity or onset.

        Onsets earlier than the previous one count as simultaneous with it."""
    def reset(self) -> None:
        """Forgets the attempt: the next note starts a new one."""
    @property
    def position(self) -> tuple[int, float, float] | None:
        """Current (bar, beat, score_q), None before anything was recognised."""
    @property
    def qpm(self) -> float: ...
    @property
    def notes_seen(self) -> int: ...

@final
class PieceIndex:
    """Library index for piece recognition (pitch-interval n-grams, then local alignment)."""

    def __new__(
        cls,
        *,
        ngram: int | None = None,
        max_query_notes: int | None = None,
        chord_window_s: float | None = None,
        candidates: int | None = None,
    ) -> PieceIndex: ...
    def add_piece(self, pitch: Sequence[int], onset_q: Sequence[float], bar: Sequence[int]) -> int:
        """Adds a piece's notes; returns its index (pieces are numbered in order)."""
    def rank(self, pitch: Sequence[int], onset_s: Sequence[float]) -> list[dict[str, Any]]:
        """Verified candidates for where the notes start, best first: ``piece``, ``bar``,
        ``onset_q``, ``group``, ``confidence`` (0 … 1), ``transposition``, ``votes``."""
    @property
    def size(self) -> tuple[int, int]:
        """Distinct keys and postings held."""
    def __len__(self) -> int: ...
