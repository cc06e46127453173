//! `etude-core`: the pure-Rust heart of Etude's analysis engine.
//!
//! No Python here: the `etude-py` crate wraps this one for Python, and any
//! other front end (a CLI, a test harness, a future native app) can use it
//! directly.
//!
//! # Layout
//!
//! * [`error`] — [`EngineError`], the single error type.
//! * [`audio`] — signal analysis on mono `f32` samples in `[-1, 1]`:
//!   * [`audio::levels`] — RMS and peak in dBFS;
//!   * [`audio::onset`] — streaming spectral-flux onset detection;
//!   * [`audio::pitch`] — monophonic f0 (YIN) with confidence;
//!   * [`audio::notes`] — polyphonic notes at onsets, their dynamics and the
//!     score-informed check of expected pitches;
//!   * [`audio::analyser`] — [`StreamingAnalyser`], per-chunk events for a
//!     live stream, and [`analyse`] on a whole buffer.
//!
//! Planned (later issues, not implemented yet): a top-level `assessment`
//! module (scoring a performance against a score).

pub mod assessment;
pub mod audio;
pub mod error;

pub use audio::analyser::{
    analyse, AnalyserConfig, Analysis, ChunkFigures, LoudnessFrame, Note, StreamingAnalyser,
};
pub use audio::levels::{levels, Levels, SILENCE_FLOOR_DBFS};
pub use audio::notes::{
    check_pitches, NoteConfig, NoteEvent, NoteMethod, NoteOff, NoteOutput, OnsetLevel, PitchCheck,
};
pub use audio::onset::{detect_onsets, Onset, OnsetConfig, OnsetDetector};
pub use audio::pitch::{detect_pitch, PitchConfig, PitchFrame, PitchTracker};
pub use error::{EngineError, Result};
