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
//! Planned (issue 5, not built yet): the causal score follower, piece
//! recognition with an index, and free-play figures.
//!
//! Nothing here touches the file system or panics on user data; errors are
//! [`AssessmentError`]. The coarse path keeps one `u32` back-pointer per
//! (onset group, performed note): about 4 MB for 1,000 × 1,000.

pub mod align;
pub mod error;
pub mod metrics;
pub mod score;
mod timing;

pub use align::{assess, AlignConfig, Assessment, Label, NoteResult, PerfResult, TempoPoint};
pub use error::AssessmentError;
pub use metrics::{metrics, BarFigures, HandFigures, Metrics};
pub use score::{Hand, PerfNote, Score, ScoreNote};
