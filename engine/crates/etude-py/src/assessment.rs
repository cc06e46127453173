//! Python face of `etude_core::assessment`: the score model, offline
//! alignment with its metrics, the score follower, piece identification and
//! free-play figures.
//!
//! Columns come in as sequences (lists or numpy arrays) and go out as numpy
//! arrays; labels as lists of `str`. Errors map exhaustively in
//! [`assessment_err`].

use etude_core::assessment::{
    self as core, AlignConfig, AssessmentError as CoreError, Hand, Label, PerfNote, ScoreNote,
};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::import_exception!(etude_engine.exceptions, InvalidConfigError);
pyo3::import_exception!(etude_engine.exceptions, InvalidScoreError);
pyo3::import_exception!(etude_engine.exceptions, InvalidPerformanceError);

/// The one mapping from assessment errors to Python exceptions (alignment, following,
/// recognition). Exhaustive: a new core variant must be placed here.
pub(crate) fn assessment_err(err: CoreError) -> PyErr {
    let msg = err.to_string();
    match err {
        CoreError::EmptyScore | CoreError::BadScoreNote { .. } => InvalidScoreError::new_err(msg),
        CoreError::BadPerfNote { .. } => InvalidPerformanceError::new_err(msg),
        CoreError::BadParameter { .. } | CoreError::UnknownPiece { .. } => {
            InvalidConfigError::new_err(msg)
        }
    }
}

fn same_len(what: &str, n: usize, cols: &[(&str, usize)]) -> PyResult<()> {
    for (name, len) in cols {
        if *len != n {
            return Err(InvalidConfigError::new_err(format!(
                "{what}: column `{name}` has {len} values, expected {n}"
            )));
        }
    }
    Ok(())
}

fn to_u8(what: &str, name: &str, values: Vec<i64>) -> PyResult<Vec<u8>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u8::try_from(v).ok().filter(|&x| x <= 127).ok_or_else(|| {
                let err = format!("{what} {i}: `{name}` must be in 0..=127, got {v}");
                if what == "score note" {
                    InvalidScoreError::new_err(err)
                } else {
                    InvalidPerformanceError::new_err(err)
                }
            })
        })
        .collect()
}

/// A score: one entry per note, columns of equal length.
#[pyclass(frozen, module = "etude_engine._engine", name = "Score")]
pub struct Score {
    pub(crate) inner: core::Score,
}

#[pymethods]
impl Score {
    #[new]
    #[pyo3(signature = (pitch, onset_q, duration_q, onset_s, duration_s, bar, beat, hand, voice, grace, ornament, dynamic))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        pitch: Vec<i64>,
        onset_q: Vec<f64>,
        duration_q: Vec<f64>,
        onset_s: Vec<f64>,
        duration_s: Vec<f64>,
        bar: Vec<i32>,
        beat: Vec<f64>,
        hand: Vec<u8>,
        voice: Vec<u16>,
        grace: Vec<bool>,
        ornament: Vec<bool>,
        dynamic: Vec<f64>,
    ) -> PyResult<Self> {
        let n = pitch.len();
        same_len(
            "score",
            n,
            &[
                ("onset_q", onset_q.len()),
                ("duration_q", duration_q.len()),
                ("onset_s", onset_s.len()),
                ("duration_s", duration_s.len()),
                ("bar", bar.len()),
                ("beat", beat.len()),
                ("hand", hand.len()),
                ("voice", voice.len()),
                ("grace", grace.len()),
                ("ornament", ornament.len()),
                ("dynamic", dynamic.len()),
            ],
        )?;
        let pitch = to_u8("score note", "pitch", pitch)?;
        let notes = (0..n)
            .map(|i| ScoreNote {
                pitch: pitch[i],
                onset_q: onset_q[i],
                duration_q: duration_q[i],
                onset_s: onset_s[i],
                duration_s: duration_s[i],
                bar: bar[i],
                beat: beat[i],
                hand: if hand[i] == 0 {
                    Hand::Right
                } else {
                    Hand::Left
                },
                voice: voice[i],
                grace: grace[i],
                ornament: ornament[i],
                dynamic: if dynamic[i].is_nan() {
                    None
                } else {
                    Some(dynamic[i])
                },
            })
            .collect();
        let inner = core::Score::new(notes).map_err(assessment_err)?;
        Ok(Self { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The note played for note `i`: itself, or for a unison doubling (same
    /// pitch, same onset, another voice) the longest note of the unison.
    fn primary(&self, i: usize) -> PyResult<usize> {
        if i < self.inner.len() {
            Ok(self.inner.primary(i))
        } else {
            Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "note {i} out of range (score has {})",
                self.inner.len()
            )))
        }
    }

    #[getter]
    fn onset_count(&self) -> usize {
        self.inner.onset_count()
    }

    fn __repr__(&self) -> String {
        format!(
            "Score(notes={}, onsets={})",
            self.inner.len(),
            self.inner.onset_count()
        )
    }
}

pub(crate) fn perf_notes(
    pitch: Vec<i64>,
    onset_s: Vec<f64>,
    offset_s: Vec<f64>,
    velocity: Vec<i64>,
) -> PyResult<Vec<PerfNote>> {
    let n = pitch.len();
    same_len(
        "performance",
        n,
        &[
            ("onset_s", onset_s.len()),
            ("offset_s", offset_s.len()),
            ("velocity", velocity.len()),
        ],
    )?;
    let pitch = to_u8("performed note", "pitch", pitch)?;
    let velocity = to_u8("performed note", "velocity", velocity)?;
    Ok((0..n)
        .map(|i| PerfNote::new(pitch[i], onset_s[i], offset_s[i], velocity[i]))
        .collect())
}

fn opt_f64(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn opt_idx(v: Option<usize>) -> i64 {
    v.map_or(-1, |x| x as i64)
}

/// The result of [`align`]: columns per score-note entry, per performed note,
/// and the tempo curve.
#[pyclass(frozen, module = "etude_engine._engine", name = "Alignment")]
pub struct Alignment {
    result: core::Assessment,
    metrics: core::Metrics,
}

fn hand_dict<'py>(py: Python<'py>, h: &core::HandFigures) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("matched", h.matched)?;
    d.set_item("wrong_pitch", h.wrong_pitch)?;
    d.set_item("missed", h.missed)?;
    d.set_item("extra", h.extra)?;
    d.set_item("pitch_accuracy", h.pitch_accuracy)?;
    d.set_item("rhythm_accuracy", h.rhythm_accuracy)?;
    d.set_item("mean_dev_ms", h.mean_dev_s.map(|x| x * 1000.0))?;
    d.set_item("mean_abs_dev_ms", h.mean_abs_dev_s.map(|x| x * 1000.0))?;
    d.set_item("mean_velocity", h.mean_velocity)?;
    d.set_item("chord_spread_ms", h.chord_spread_s.map(|x| x * 1000.0))?;
    Ok(d)
}

#[pymethods]
impl Alignment {
    /// Score note index of each entry.
    #[getter]
    fn note_score_index<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = self
            .result
            .notes
            .iter()
            .map(|r| r.score_note as i64)
            .collect();
        PyArray1::from_vec(py, v)
    }
    /// Label of each entry: "match", "wrong_pitch" or "missed".
    #[getter]
    fn note_label(&self) -> Vec<&'static str> {
        self.result.notes.iter().map(|r| r.label.name()).collect()
    }
    /// Performed note index of each entry (-1: none).
    #[getter]
    fn note_perf_index<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = self
            .result
            .notes
            .iter()
            .map(|r| opt_idx(r.perf_note))
            .collect();
        PyArray1::from_vec(py, v)
    }
    /// Timing deviation against the local tempo, seconds (NaN: none).
    #[getter]
    fn note_timing_dev_s<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let v = self
            .result
            .notes
            .iter()
            .map(|r| opt_f64(r.timing_dev_s))
            .collect();
        PyArray1::from_vec(py, v)
    }
    /// Performed / notated duration at the local tempo (NaN: none).
    #[getter]
    fn note_duration_ratio<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let v = self
            .result
            .notes
            .iter()
            .map(|r| opt_f64(r.duration_ratio))
            .collect();
        PyArray1::from_vec(py, v)
    }
    #[getter]
    fn note_segment<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = self.result.notes.iter().map(|r| r.segment as i64).collect();
        PyArray1::from_vec(py, v)
    }
    /// True for the pass through the note that counts (the last one).
    #[getter]
    fn note_is_final<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        let v = self.result.notes.iter().map(|r| r.is_final).collect();
        PyArray1::from_vec(py, v)
    }
    /// Label of each performed note: "match", "wrong_pitch" or "extra".
    #[getter]
    fn perf_label(&self) -> Vec<&'static str> {
        self.result.perf.iter().map(|r| r.label.name()).collect()
    }
    #[getter]
    fn perf_score_index<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = self
            .result
            .perf
            .iter()
            .map(|r| opt_idx(r.score_note))
            .collect();
        PyArray1::from_vec(py, v)
    }
    /// Where each performed note falls in the score, quarters.
    #[getter]
    fn perf_score_q<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let v = self.result.perf.iter().map(|r| r.score_q).collect();
        PyArray1::from_vec(py, v)
    }
    #[getter]
    fn perf_segment<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = self.result.perf.iter().map(|r| r.segment as i64).collect();
        PyArray1::from_vec(py, v)
    }
    /// Tempo curve: (score_q, time_s, qpm, spread_s, segment) columns.
    #[getter]
    fn tempo<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.result.tempo;
        let d = PyDict::new(py);
        d.set_item(
            "score_q",
            PyArray1::from_iter(py, t.iter().map(|p| p.score_q)),
        )?;
        d.set_item(
            "time_s",
            PyArray1::from_iter(py, t.iter().map(|p| p.time_s)),
        )?;
        d.set_item("qpm", PyArray1::from_iter(py, t.iter().map(|p| p.qpm)))?;
        d.set_item(
            "spread_s",
            PyArray1::from_iter(py, t.iter().map(|p| p.spread_s)),
        )?;
        d.set_item(
            "segment",
            PyArray1::from_iter(py, t.iter().map(|p| p.segment as i64)),
        )?;
        Ok(d)
    }
    /// Performed-note positions (in playing order) where each segment starts.
    #[getter]
    fn segment_starts(&self) -> Vec<usize> {
        self.result.segment_starts.clone()
    }
    /// Every figure of `docs/assessment.md` as plain Python values.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.metrics;
        let d = PyDict::new(py);
        d.set_item("pitch_accuracy", m.pitch_accuracy)?;
        d.set_item("rhythm_accuracy", m.rhythm_accuracy)?;
        d.set_item("dynamics_range", m.dynamics_range)?;
        d.set_item("dynamics_following", m.dynamics_following)?;
        d.set_item("overall_score", m.overall_score)?;
        d.set_item("chord_spread_ms", m.chord_spread_s.map(|x| x * 1000.0))?;
        d.set_item(
            "hand_chord_spread_ms",
            m.hand_chord_spread_s.map(|x| x * 1000.0),
        )?;
        d.set_item("hand_balance", m.hand_balance)?;
        d.set_item("all", hand_dict(py, &m.all)?)?;
        d.set_item("right", hand_dict(py, &m.right)?)?;
        d.set_item("left", hand_dict(py, &m.left)?)?;
        let mut bars = Vec::with_capacity(m.bars.len());
        for b in &m.bars {
            let bd = hand_dict(py, &b.all)?;
            bd.set_item("bar", b.bar)?;
            bd.set_item("start_q", b.start_q)?;
            bd.set_item("qpm", b.qpm)?;
            bd.set_item("right", hand_dict(py, &b.right)?)?;
            bd.set_item("left", hand_dict(py, &b.left)?)?;
            bars.push(bd);
        }
        d.set_item("bars", bars)?;
        Ok(d)
    }
    fn __len__(&self) -> usize {
        self.result.notes.len()
    }
    fn __repr__(&self) -> String {
        let count = |l: Label| {
            self.result
                .notes
                .iter()
                .filter(|r| r.is_final && r.label == l)
                .count()
        };
        let extra = self
            .result
            .perf
            .iter()
            .filter(|r| r.label == Label::Extra)
            .count();
        format!(
            "Alignment(match={}, wrong_pitch={}, missed={}, extra={}, segments={})",
            count(Label::Match),
            count(Label::WrongPitch),
            count(Label::Missed),
            extra,
            self.result.segment_starts.len()
        )
    }
}

/// Aligns performed notes (columns) to a score; releases the GIL.
#[pyfunction]
#[pyo3(signature = (score, pitch, onset_s, offset_s, velocity, *, jump_cost = None, sigma_s = None, gap_cost = None))]
#[allow(clippy::too_many_arguments)]
fn align(
    py: Python<'_>,
    score: &Score,
    pitch: Vec<i64>,
    onset_s: Vec<f64>,
    offset_s: Vec<f64>,
    velocity: Vec<i64>,
    jump_cost: Option<f64>,
    sigma_s: Option<f64>,
    gap_cost: Option<f64>,
) -> PyResult<Alignment> {
    let perf = perf_notes(pitch, onset_s, offset_s, velocity)?;
    let mut cfg = AlignConfig::default();
    if let Some(v) = jump_cost {
        cfg.jump_cost = v;
    }
    if let Some(v) = sigma_s {
        cfg.sigma_s = v;
    }
    if let Some(v) = gap_cost {
        cfg.gap_cost = v;
    }
    let s = &score.inner;
    let (result, metrics) = py
        .detach(|| {
            core::assess(s, &perf, &cfg).map(|r| {
                let m = core::metrics(s, &r, &perf);
                (r, m)
            })
        })
        .map_err(assessment_err)?;
    Ok(Alignment { result, metrics })
}

/// Registers the assessment classes and functions on `_engine`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let exceptions = m.py().import("etude_engine.exceptions")?;
    for name in ["InvalidScoreError", "InvalidPerformanceError"] {
        exceptions.getattr(name)?;
    }
    m.add_class::<Score>()?;
    m.add_class::<Alignment>()?;
    m.add_function(wrap_pyfunction!(align, m)?)?;
    Ok(())
}
