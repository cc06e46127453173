//! Performance assessment: a performed note list measured against a score.
//!
//! * [`score`] — the compact score model ([`Score`], [`ScoreNote`]) and the
//!   performed notes ([`PerfNote`]); onsets are in quarter notes on the score
//!   side and in seconds on the performance side.
//! * [`align`] — offline note alignment of a whole attempt (match, wrong
//!   pitch, missed, extra; restarts and skips), with the local tempo curve,
//!   the timing deviation of each note against that *local* tempo,
//!   articulation and chord spread ([`assess`]).
//! * [`metrics`](mod@metrics) — pitch/rhythm accuracy, dynamics range and the overall
//!   score, per bar and per hand ([`Metrics`]).
//!
//! * [`follow`] — the causal score follower: one call per performed note,
//!   bounded work, restarts and skips found through a pitch-trigram index.
//! * [`recognize`] — piece recognition: an inverted index of
//!   transposition-invariant n-grams, candidate voting, then a short local
//!   alignment to verify the piece and find the bar.
//!
//! Free-play figures (no score) are in Python (`etude_engine.freeplay`): they are
//! one linear pass over the notes.
//!
//! Nothing here touches the file system or panics on user data; errors are
//! [`AssessmentError`]. The coarse path keeps one `u32` back-pointer per
//! (onset group, performed note): about 4 MB for 1,000 × 1,000.

pub mod align;
pub mod error;
pub mod follow;
mod local_tempo;
pub mod metrics;
pub mod recognize;
pub mod score;
mod timing;

pub use align::{assess, AlignConfig, Assessment, Label, NoteResult, PerfResult, TempoPoint};
pub use error::AssessmentError;
pub use metrics::{metrics, BarFigures, HandFigures, Metrics};
pub use score::{Hand, PerfNote, Score, ScoreNote};
