//! Python face of `etude_core::assessment::recognize`: the piece index.

use etude_core::assessment::recognize::{self as core, IndexNote, RecognizeConfig};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::assessment::{assessment_err, perf_notes};

pyo3::import_exception!(etude_engine.exceptions, InvalidConfigError);
pyo3::import_exception!(etude_engine.exceptions, InvalidScoreError);
pyo3::import_exception!(etude_engine.exceptions, InvalidPerformanceError);

/// An index of library pieces for recognising what an attempt is playing.
#[pyclass(frozen, module = "etude_engine._engine", name = "PieceIndex")]
pub struct PieceIndex {
    inner: std::sync::RwLock<core::PieceIndex>,
}

fn result_dict<'py>(py: Python<'py>, r: &core::Recognition) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("piece", r.piece)?;
    d.set_item("bar", r.bar)?;
    d.set_item("onset_q", r.onset_q)?;
    d.set_item("group", r.group)?;
    d.set_item("confidence", r.confidence)?;
    d.set_item("transposition", r.transposition)?;
    d.set_item("votes", r.votes)?;
    Ok(d)
}

impl PieceIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, core::PieceIndex> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[pymethods]
impl PieceIndex {
    #[new]
    #[pyo3(signature = (*, ngram = None, max_query_notes = None, chord_window_s = None, candidates = None))]
    fn new(
        ngram: Option<usize>,
        max_query_notes: Option<usize>,
        chord_window_s: Option<f64>,
        candidates: Option<usize>,
    ) -> PyResult<Self> {
        let mut cfg = RecognizeConfig::default();
        if let Some(v) = ngram {
            cfg.ngram = v;
        }
        if let Some(v) = max_query_notes {
            cfg.max_query_notes = v;
        }
        if let Some(v) = chord_window_s {
            cfg.chord_window_s = v;
        }
        if let Some(v) = candidates {
            cfg.candidates = v;
        }
        let inner = core::PieceIndex::new(cfg).map_err(assessment_err)?;
        Ok(Self {
            inner: std::sync::RwLock::new(inner),
        })
    }

    /// Adds a piece from note columns (pitch, onset in quarters, bar); returns its index.
    fn add_piece(&self, pitch: Vec<i64>, onset_q: Vec<f64>, bar: Vec<i32>) -> PyResult<usize> {
        if onset_q.len() != pitch.len() || bar.len() != pitch.len() {
            return Err(InvalidConfigError::new_err(format!(
                "piece: columns have {}, {} and {} values, expected equal lengths",
                pitch.len(),
                onset_q.len(),
                bar.len()
            )));
        }
        let mut notes = Vec::with_capacity(pitch.len());
        for (i, p) in pitch.into_iter().enumerate() {
            let Some(p) = u8::try_from(p).ok().filter(|&x| x <= 127) else {
                return Err(InvalidScoreError::new_err(format!(
                    "score note {i}: `pitch` must be in 0..=127, got {p}"
                )));
            };
            notes.push(IndexNote {
                pitch: p,
                onset_q: onset_q[i],
                bar: bar[i],
            });
        }
        let mut ix = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ix.add_piece(&notes).map_err(assessment_err)
    }

    /// The best candidates for where the performed notes start, best first:
    /// dicts with `piece`, `bar`, `onset_q`, `group`, `confidence` (0 … 1),
    /// `transposition` and `votes`. Releases the GIL.
    fn rank<'py>(
        &self,
        py: Python<'py>,
        pitch: Vec<i64>,
        onset_s: Vec<f64>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let offset_s = onset_s.clone();
        let velocity = vec![64; pitch.len()];
        let perf = perf_notes(pitch, onset_s, offset_s, velocity)?;
        let found = py
            .detach(|| self.read().rank(&perf))
            .map_err(assessment_err)?;
        found.iter().map(|r| result_dict(py, r)).collect()
    }

    fn __len__(&self) -> usize {
        self.read().len()
    }

    /// Distinct n-gram keys and postings held.
    #[getter]
    fn size(&self) -> (usize, usize) {
        self.read().size()
    }

    fn __repr__(&self) -> String {
        let ix = self.read();
        let (keys, postings) = ix.size();
        format!(
            "PieceIndex(pieces={}, keys={keys}, postings={postings})",
            ix.len()
        )
    }
}

/// Registers the recognition classes on `_engine`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PieceIndex>()?;
    Ok(())
}
