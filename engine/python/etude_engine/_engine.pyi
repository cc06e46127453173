"""Typed stubs for the Rust extension ``etude_engine._engine`` (hand-written).

Audio arguments must be 1-D ``numpy.ndarray`` of ``float32`` (mono, full
scale = ±1.0). They are read in place; a non-contiguous view is copied once.
Nothing is converted silently:

* not an ndarray, or a dtype other than float32 → :class:`~etude_engine.exceptions.AudioTypeError`
* not 1-D, empty, or containing NaN/±inf → :class:`~etude_engine.exceptions.InvalidAudioError`
* sample rate outside ``MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE``, bad frame or hop
  size → :class:`~etude_engine.exceptions.InvalidConfigError`
"""

from typing import Any, Final, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SILENCE_FLOOR_DBFS",
    "ChunkFigures",
    "StreamingAnalyser",
    "__version__",
    "detect_onsets",
    "levels",
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

    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

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
        quantised to it.
    :raises InvalidConfigError: for an out-of-range argument.
    """

    def __new__(
        cls, sample_rate: int, frame_size: int = 1024, hop_size: int = 512
    ) -> StreamingAnalyser: ...
    def process(self, chunk: npt.NDArray[np.float32]) -> ChunkFigures:
        """Analyses the next chunk of the stream.

        A rejected chunk leaves the analyser as it was.

        :raises AudioTypeError: ``chunk`` is not a float32 ndarray.
        :raises InvalidAudioError: ``chunk`` is not 1-D, is empty, or has NaN/inf.
        """

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
        """Delay between an onset and its report: ``frame_size // 2 + hop_size``."""

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
    hop_size: int = 512,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Onset times of a whole buffer, in seconds, ascending (float64 array).

    Spectral flux with an adaptive threshold; the same result as streaming the
    buffer through a :class:`StreamingAnalyser`. No onset is reported in the
    first ~0.13 s (the threshold's warm-up) nor in the last
    ``frame_size // 2 + hop_size`` samples (no look-ahead left there).
    Releases the GIL while it works.

    :raises AudioTypeError: ``samples`` is not a float32 ndarray.
    :raises InvalidAudioError: not 1-D, empty, or NaN/inf present.
    :raises InvalidConfigError: bad sample rate, frame size or hop size.
    """
