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
//!   * [`audio::analyser`] — [`StreamingAnalyser`], per-chunk figures for a
//!     live stream.
//!
//! Planned (later issues, not implemented yet): `audio::pitch` (pitch
//! tracking), `audio::dynamics` (loudness envelopes, velocity estimates) and a
//! top-level `assessment` module (scoring a performance against a score).

pub mod audio;
pub mod error;
// pub mod assessment; // later: compare detected events with the expected score.

pub use audio::analyser::{ChunkFigures, StreamingAnalyser};
pub use audio::levels::{levels, Levels, SILENCE_FLOOR_DBFS};
pub use audio::onset::{detect_onsets, Onset, OnsetConfig, OnsetDetector};
pub use error::{EngineError, Result};
