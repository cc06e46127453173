//! Python face of `etude_core::assessment::follow`: the online score
//! follower, one call per performed note.

use etude_core::assessment::follow::{self as core, FollowConfig};
use pyo3::prelude::*;

use crate::assessment::{assessment_err, Score};

pyo3::import_exception!(etude_engine.exceptions, InvalidConfigError);
pyo3::import_exception!(etude_engine.exceptions, InvalidPerformanceError);

fn midi(name: &str, value: i64) -> PyResult<u8> {
    u8::try_from(value)
        .ok()
        .filter(|&v| v <= 127)
        .ok_or_else(|| {
            InvalidPerformanceError::new_err(format!("`{name}` must be in 0..=127, got {value}"))
        })
}

/// What the follower says about one performed note (immutable).
#[pyclass(frozen, get_all, module = "etude_engine._engine", name = "FollowStep")]
#[derive(Debug, Clone)]
pub struct FollowStep {
    index: usize,
    score_note: Option<usize>,
    label: &'static str,
    bar: Option<i32>,
    beat: Option<f64>,
    score_q: Option<f64>,
    score_s: Option<f64>,
    cost: f64,
    jumped: bool,
    revised: Vec<(usize, usize)>,
    revised_extra: Vec<(usize, f64)>,
    qpm: f64,
}

#[pymethods]
impl FollowStep {
    fn __repr__(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "None".to_owned());
        format!(
            "FollowStep(index={}, score_note={}, label='{}', bar={}, beat={}, score_q={}, \
             jumped={}, revised={})",
            self.index,
            opt(self.score_note.map(|v| v.to_string())),
            self.label,
            opt(self.bar.map(|v| v.to_string())),
            opt(self.beat.map(|v| format!("{v:.3}"))),
            opt(self.score_q.map(|v| format!("{v:.3}"))),
            if self.jumped { "True" } else { "False" },
            self.revised.len()
        )
    }
}

impl From<core::FollowStep> for FollowStep {
    fn from(s: core::FollowStep) -> Self {
        Self {
            index: s.index,
            score_note: s.score_note,
            label: if s.score_note.is_some() {
                "match"
            } else {
                "extra"
            },
            bar: s.position.map(|p| p.bar),
            beat: s.position.map(|p| p.beat),
            score_q: s.position.map(|p| p.score_q),
            score_s: s.position.map(|p| p.score_s),
            cost: s.cost,
            jumped: s.jumped,
            revised: s.revised,
            revised_extra: s
                .revised_extra
                .into_iter()
                .map(|(i, p)| (i, p.score_q))
                .collect(),
            qpm: s.qpm,
        }
    }
}

/// The causal score follower.
#[pyclass(module = "etude_engine._engine", name = "ScoreFollower")]
pub struct ScoreFollower {
    inner: core::Follower,
}

#[pymethods]
impl ScoreFollower {
    #[new]
    #[pyo3(signature = (score, *, window = None, max_cost = None, skip_cost = None))]
    fn new(
        score: &Score,
        window: Option<usize>,
        max_cost: Option<f64>,
        skip_cost: Option<f64>,
    ) -> PyResult<Self> {
        let mut cfg = FollowConfig::default();
        if let Some(v) = window {
            cfg.window = v;
        }
        if let Some(v) = max_cost {
            cfg.max_cost = v;
        }
        if let Some(v) = skip_cost {
            cfg.skip_cost = v;
        }
        let inner = core::Follower::new(score.inner.clone(), cfg).map_err(assessment_err)?;
        Ok(Self { inner })
    }

    /// Follows one performed note; returns where it falls in the score.
    #[pyo3(signature = (pitch, onset_s, velocity = 64))]
    fn push(&mut self, pitch: i64, onset_s: f64, velocity: i64) -> PyResult<FollowStep> {
        let pitch = midi("pitch", pitch)?;
        let velocity = midi("velocity", velocity)?;
        self.inner
            .push(pitch, onset_s, velocity)
            .map(Into::into)
            .map_err(assessment_err)
    }

    /// Forgets the attempt: the next note starts a new one.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Current (bar, beat, score_q), or None before anything was recognised.
    #[getter]
    fn position(&self) -> Option<(i32, f64, f64)> {
        self.inner.position().map(|p| (p.bar, p.beat, p.score_q))
    }

    #[getter]
    fn qpm(&self) -> f64 {
        self.inner.qpm()
    }

    #[getter]
    fn notes_seen(&self) -> usize {
        self.inner.notes_seen()
    }

    fn __repr__(&self) -> String {
        match self.inner.position() {
            Some(p) => format!(
                "ScoreFollower(bar={}, beat={:.3}, notes_seen={})",
                p.bar,
                p.beat,
                self.inner.notes_seen()
            ),
            None => format!(
                "ScoreFollower(position=None, notes_seen={})",
                self.inner.notes_seen()
            ),
        }
    }
}

/// Registers the follower classes on `_engine`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ScoreFollower>()?;
    m.add_class::<FollowStep>()?;
    Ok(())
}
