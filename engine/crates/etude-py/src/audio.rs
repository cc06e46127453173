//! Pitch, notes, dynamics and the score-informed check: their Python types
//! and whole-buffer functions. The streaming class is in `lib.rs`.

use etude_core::audio::notes::validate_pitches;
use etude_core::{AnalyserConfig, NoteConfig, NoteMethod, OnsetConfig, PitchConfig};
use numpy::PyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::{engine_err, non_negative, onset_config, sample_rate_arg, Samples};

/// One pitch frame (monophonic f0).
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PitchFrame {
    time: f64,
    f0: f64,
    confidence: f64,
    voiced: bool,
}

#[pymethods]
impl PitchFrame {
    /// The f0 as a fractional MIDI note number, or None when f0 is 0.
    #[getter]
    fn midi(&self) -> Option<f64> {
        (self.f0 > 0.0).then(|| etude_core::audio::hz_to_midi(self.f0))
    }

    fn __repr__(&self) -> String {
        format!(
            "PitchFrame(time={:.4}, f0={:.2}, confidence={:.3}, voiced={})",
            self.time,
            self.f0,
            self.confidence,
            py_bool(self.voiced)
        )
    }
}

impl From<&etude_core::PitchFrame> for PitchFrame {
    fn from(f: &etude_core::PitchFrame) -> Self {
        Self {
            time: f.time,
            f0: f.f0,
            confidence: f.confidence,
            voiced: f.voiced,
        }
    }
}

/// Loudness of one hop.
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoudnessFrame {
    time: f64,
    rms_dbfs: f64,
}

#[pymethods]
impl LoudnessFrame {
    fn __repr__(&self) -> String {
        format!(
            "LoudnessFrame(time={:.4}, rms_dbfs={:.2})",
            self.time, self.rms_dbfs
        )
    }
}

impl From<&etude_core::LoudnessFrame> for LoudnessFrame {
    fn from(f: &etude_core::LoudnessFrame) -> Self {
        Self {
            time: f.time,
            rms_dbfs: f.rms_dbfs,
        }
    }
}

/// A note start found at an onset (streaming; its end comes as a NoteOff).
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NoteEvent {
    pitch: u8,
    onset: f64,
    velocity: u8,
    level_dbfs: f64,
    confidence: f64,
}

#[pymethods]
impl NoteEvent {
    fn __repr__(&self) -> String {
        format!(
            "NoteEvent(pitch={}, onset={:.4}, velocity={}, level_dbfs={:.2}, confidence={:.3})",
            self.pitch, self.onset, self.velocity, self.level_dbfs, self.confidence
        )
    }
}

impl From<&etude_core::NoteEvent> for NoteEvent {
    fn from(e: &etude_core::NoteEvent) -> Self {
        Self {
            pitch: e.pitch,
            onset: e.time,
            velocity: e.velocity,
            level_dbfs: e.level_dbfs,
            confidence: e.confidence,
        }
    }
}

/// The end of a note reported earlier: (pitch, onset) name it.
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NoteOff {
    pitch: u8,
    onset: f64,
    offset: f64,
}

#[pymethods]
impl NoteOff {
    fn __repr__(&self) -> String {
        format!(
            "NoteOff(pitch={}, onset={:.4}, offset={:.4})",
            self.pitch, self.onset, self.offset
        )
    }
}

pub(crate) fn note_off(o: &etude_core::NoteOff, sample_rate: u32) -> NoteOff {
    NoteOff {
        pitch: o.pitch,
        onset: o.onset_sample as f64 / f64::from(sample_rate),
        offset: o.time,
    }
}

/// A whole note (from a whole buffer).
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Note {
    pitch: u8,
    onset: f64,
    offset: f64,
    velocity: u8,
    level_dbfs: f64,
    confidence: f64,
}

#[pymethods]
impl Note {
    fn __repr__(&self) -> String {
        format!(
            "Note(pitch={}, onset={:.4}, offset={:.4}, velocity={}, level_dbfs={:.2}, \
             confidence={:.3})",
            self.pitch, self.onset, self.offset, self.velocity, self.level_dbfs, self.confidence
        )
    }
}

impl From<&etude_core::Note> for Note {
    fn from(n: &etude_core::Note) -> Self {
        Self {
            pitch: n.pitch,
            onset: n.onset,
            offset: n.offset,
            velocity: n.velocity,
            level_dbfs: n.level_dbfs,
            confidence: n.confidence,
        }
    }
}

/// The loudness of what an onset added.
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OnsetLevel {
    time: f64,
    level_dbfs: f64,
    frame_dbfs: f64,
    velocity: u8,
    notes: usize,
}

#[pymethods]
impl OnsetLevel {
    fn __repr__(&self) -> String {
        format!(
            "OnsetLevel(time={:.4}, level_dbfs={:.2}, frame_dbfs={:.2}, velocity={}, notes={})",
            self.time, self.level_dbfs, self.frame_dbfs, self.velocity, self.notes
        )
    }
}

impl From<&etude_core::OnsetLevel> for OnsetLevel {
    fn from(o: &etude_core::OnsetLevel) -> Self {
        Self {
            time: o.time,
            level_dbfs: o.level_dbfs,
            frame_dbfs: o.frame_dbfs,
            velocity: o.velocity,
            notes: o.notes,
        }
    }
}

/// Whether an expected pitch sounded at an onset.
#[pyclass(frozen, eq, get_all, module = "etude_engine._engine")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PitchCheck {
    pitch: u8,
    time: f64,
    sounded: bool,
    confidence: f64,
    level_dbfs: f64,
}

#[pymethods]
impl PitchCheck {
    fn __repr__(&self) -> String {
        format!(
            "PitchCheck(pitch={}, time={:.4}, sounded={}, confidence={:.3}, level_dbfs={:.2})",
            self.pitch,
            self.time,
            py_bool(self.sounded),
            self.confidence,
            self.level_dbfs
        )
    }
}

impl From<&etude_core::PitchCheck> for PitchCheck {
    fn from(c: &etude_core::PitchCheck) -> Self {
        Self {
            pitch: c.pitch,
            time: c.time,
            sounded: c.sounded,
            confidence: c.confidence,
            level_dbfs: c.level_dbfs,
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Pitch frames of a whole buffer, as arrays.
#[pyclass(frozen, module = "etude_engine._engine")]
pub(crate) struct PitchTrack {
    frames: Vec<etude_core::PitchFrame>,
}

#[pymethods]
impl PitchTrack {
    /// Frame centres, seconds.
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.frames.iter().map(|f| f.time))
    }

    /// f0 per frame, Hz (0.0 where silent).
    #[getter]
    fn f0<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.frames.iter().map(|f| f.f0))
    }

    /// Confidence per frame, 0..1.
    #[getter]
    fn confidence<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.frames.iter().map(|f| f.confidence))
    }

    /// Whether each frame is voiced.
    #[getter]
    fn voiced<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_iter(py, self.frames.iter().map(|f| f.voiced))
    }

    fn __len__(&self) -> usize {
        self.frames.len()
    }

    fn __repr__(&self) -> String {
        let voiced = self.frames.iter().filter(|f| f.voiced).count();
        format!("PitchTrack(frames={}, voiced={voiced})", self.frames.len())
    }
}

/// Loudness of a whole buffer: per hop, per onset and per note.
#[pyclass(frozen, module = "etude_engine._engine")]
pub(crate) struct Dynamics {
    #[pyo3(get)]
    rms_dbfs: f64,
    #[pyo3(get)]
    peak_dbfs: f64,
    #[pyo3(get)]
    onsets: Vec<OnsetLevel>,
    #[pyo3(get)]
    notes: Vec<Note>,
    frame_times_: Vec<f64>,
    frame_rms_: Vec<f64>,
}

#[pymethods]
impl Dynamics {
    /// Centre of each hop, seconds.
    #[getter]
    fn frame_times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.frame_times_)
    }

    /// RMS of each hop, dBFS.
    #[getter]
    fn frame_rms_dbfs<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.frame_rms_)
    }

    fn __repr__(&self) -> String {
        format!(
            "Dynamics(rms_dbfs={:.2}, peak_dbfs={:.2}, frames={}, onsets={}, notes={})",
            self.rms_dbfs,
            self.peak_dbfs,
            self.frame_rms_.len(),
            self.onsets.len(),
            self.notes.len()
        )
    }
}

/// An optional float argument (a Python int or float, finite).
pub(crate) fn float_arg(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    let Some(v) = value else { return Ok(None) };
    let x: f64 = v.extract().map_err(|_| {
        let type_name = v
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        PyTypeError::new_err(format!("{name} must be a number, got {type_name}"))
    })?;
    Ok(Some(x))
}

/// Pitch settings from optional Python arguments.
fn pitch_config(
    sample_rate: u32,
    frame_size: Option<&Bound<'_, PyAny>>,
    hop_size: Option<&Bound<'_, PyAny>>,
    fmin: Option<&Bound<'_, PyAny>>,
    fmax: Option<&Bound<'_, PyAny>>,
    threshold: Option<&Bound<'_, PyAny>>,
) -> PyResult<PitchConfig> {
    let mut c = PitchConfig::for_rate(sample_rate);
    let size = |name, arg: Option<&Bound<'_, PyAny>>, default| match arg {
        Some(v) => Ok(usize::try_from(non_negative(name, v)?).unwrap_or(usize::MAX)),
        None => PyResult::Ok(default),
    };
    c.frame_size = size("frame_size", frame_size, c.frame_size)?;
    c.hop_size = size("hop_size", hop_size, c.hop_size.min(c.frame_size))?;
    if frame_size.is_some() && fmin.is_none() {
        // Keep the default fmin only if the new frame can hold it.
        let lowest = f64::from(sample_rate) / (c.frame_size / 2).saturating_sub(2).max(1) as f64;
        c.fmin = c.fmin.max(lowest);
    }
    c.fmin = float_arg("fmin", fmin)?.unwrap_or(c.fmin);
    c.fmax = float_arg("fmax", fmax)?.unwrap_or(c.fmax);
    c.threshold = float_arg("threshold", threshold)?.unwrap_or(c.threshold);
    c.validate(sample_rate).map_err(engine_err)?;
    Ok(c)
}

/// Pitch frames (YIN) of a whole buffer.
#[pyfunction]
#[pyo3(
    signature = (samples, sample_rate, *, frame_size = None, hop_size = None, fmin = None, fmax = None, threshold = None),
    text_signature = "(samples, sample_rate, *, frame_size=None, hop_size=512, fmin=None, fmax=None, threshold=0.15)"
)]
#[allow(clippy::too_many_arguments)]
fn detect_pitch(
    samples: &Bound<'_, PyAny>,
    sample_rate: &Bound<'_, PyAny>,
    frame_size: Option<&Bound<'_, PyAny>>,
    hop_size: Option<&Bound<'_, PyAny>>,
    fmin: Option<&Bound<'_, PyAny>>,
    fmax: Option<&Bound<'_, PyAny>>,
    threshold: Option<&Bound<'_, PyAny>>,
) -> PyResult<PitchTrack> {
    let py = samples.py();
    let sample_rate = sample_rate_arg(sample_rate)?;
    let config = pitch_config(sample_rate, frame_size, hop_size, fmin, fmax, threshold)?;
    let samples = Samples::extract(samples)?;
    let slice = samples.as_slice();
    let frames = py
        .detach(|| etude_core::detect_pitch(slice, sample_rate, config))
        .map_err(engine_err)?;
    Ok(PitchTrack { frames })
}

fn notes_only(sample_rate: u32, onset: OnsetConfig) -> AnalyserConfig {
    AnalyserConfig {
        onset,
        pitch: None,
        notes: Some(NoteConfig::for_rate(sample_rate)),
    }
}

/// Note settings: the defaults for the rate, with the given overrides.
#[derive(Default)]
struct NoteTuning {
    frame_size: Option<u64>,
    max_polyphony: Option<u64>,
    relative_threshold: Option<f64>,
    floor_ratio: Option<f64>,
    reference_dbfs: Option<f64>,
    method: NoteMethod,
}

/// `"learned"` (the default) or `"harmonic"`.
fn note_method(method: Option<&str>) -> PyResult<NoteMethod> {
    match method {
        None | Some("learned") => Ok(NoteMethod::Learned),
        Some("harmonic") => Ok(NoteMethod::HarmonicSum),
        Some(other) => Err(crate::InvalidConfigError::new_err(format!(
            "method must be 'learned' or 'harmonic', got {other:?}"
        ))),
    }
}

impl NoteTuning {
    fn extract(
        frame_size: Option<&Bound<'_, PyAny>>,
        max_polyphony: Option<&Bound<'_, PyAny>>,
        relative_threshold: Option<&Bound<'_, PyAny>>,
        floor_ratio: Option<&Bound<'_, PyAny>>,
        reference_dbfs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            frame_size: frame_size
                .map(|v| non_negative("frame_size", v))
                .transpose()?,
            max_polyphony: max_polyphony
                .map(|v| non_negative("max_polyphony", v))
                .transpose()?,
            relative_threshold: float_arg("relative_threshold", relative_threshold)?,
            floor_ratio: float_arg("floor_ratio", floor_ratio)?,
            reference_dbfs: float_arg("reference_dbfs", reference_dbfs)?,
            method: NoteMethod::Learned,
        })
    }

    fn config(&self, sample_rate: u32) -> PyResult<NoteConfig> {
        let mut c = match self.frame_size {
            Some(n) => NoteConfig::with_frame(usize::try_from(n).unwrap_or(usize::MAX)),
            None => NoteConfig::for_rate(sample_rate),
        };
        if let Some(n) = self.max_polyphony {
            c.max_polyphony = usize::try_from(n).unwrap_or(usize::MAX);
        }
        c.relative_threshold = self.relative_threshold.unwrap_or(c.relative_threshold);
        c.floor_ratio = self.floor_ratio.unwrap_or(c.floor_ratio);
        c.reference_dbfs = self.reference_dbfs.unwrap_or(c.reference_dbfs);
        c.method = self.method;
        c.validate().map_err(engine_err)?;
        Ok(c)
    }
}

fn run_analysis(
    samples: &Bound<'_, PyAny>,
    sample_rate: &Bound<'_, PyAny>,
    tuning: &NoteTuning,
) -> PyResult<etude_core::Analysis> {
    let py = samples.py();
    let sample_rate = sample_rate_arg(sample_rate)?;
    let mut config = notes_only(sample_rate, onset_config(None, None)?);
    config.notes = Some(tuning.config(sample_rate)?);
    let samples = Samples::extract(samples)?;
    let slice = samples.as_slice();
    py.detach(|| etude_core::analyse(slice, sample_rate, config))
        .map_err(engine_err)
}

/// Polyphonic notes of a whole buffer.
#[pyfunction]
#[pyo3(
    signature = (samples, sample_rate, *, frame_size = None, max_polyphony = None, relative_threshold = None, floor_ratio = None, reference_dbfs = None, method = None),
    text_signature = "(samples, sample_rate, *, frame_size=None, max_polyphony=8, relative_threshold=None, floor_ratio=None, reference_dbfs=None, method='learned')"
)]
#[allow(clippy::too_many_arguments)]
fn transcribe(
    samples: &Bound<'_, PyAny>,
    sample_rate: &Bound<'_, PyAny>,
    frame_size: Option<&Bound<'_, PyAny>>,
    max_polyphony: Option<&Bound<'_, PyAny>>,
    relative_threshold: Option<&Bound<'_, PyAny>>,
    floor_ratio: Option<&Bound<'_, PyAny>>,
    reference_dbfs: Option<&Bound<'_, PyAny>>,
    method: Option<&str>,
) -> PyResult<Vec<Note>> {
    let mut tuning = NoteTuning::extract(
        frame_size,
        max_polyphony,
        relative_threshold,
        floor_ratio,
        reference_dbfs,
    )?;
    tuning.method = note_method(method)?;
    let a = run_analysis(samples, sample_rate, &tuning)?;
    Ok(a.notes.iter().map(Note::from).collect())
}

/// Loudness per hop, per onset and per note of a whole buffer.
#[pyfunction]
fn analyze_dynamics(
    samples: &Bound<'_, PyAny>,
    sample_rate: &Bound<'_, PyAny>,
) -> PyResult<Dynamics> {
    let a = run_analysis(samples, sample_rate, &NoteTuning::default())?;
    Ok(Dynamics {
        rms_dbfs: a.rms_dbfs,
        peak_dbfs: a.peak_dbfs,
        onsets: a.onset_levels.iter().map(OnsetLevel::from).collect(),
        notes: a.notes.iter().map(Note::from).collect(),
        frame_times_: a.loudness.iter().map(|f| f.time).collect(),
        frame_rms_: a.loudness.iter().map(|f| f.rms_dbfs).collect(),
    })
}

/// MIDI pitches from a Python iterable of ints.
pub(crate) fn pitch_list(pitches: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    let mut out = Vec::new();
    for item in pitches.try_iter().map_err(|_| {
        PyTypeError::new_err("pitches must be an iterable of ints (MIDI note numbers)")
    })? {
        let item = item?;
        if item.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err("pitches must be ints, got bool"));
        }
        let p: i64 = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "pitches must be ints (MIDI note numbers), got {}",
                item.repr()
                    .map_or_else(|_| "?".to_owned(), |r| r.to_string())
            ))
        })?;
        out.push(p);
    }
    Ok(out)
}

/// Score-informed check: which expected pitches sounded at `time` seconds.
#[pyfunction]
fn check_pitches(
    samples: &Bound<'_, PyAny>,
    sample_rate: &Bound<'_, PyAny>,
    time: &Bound<'_, PyAny>,
    pitches: &Bound<'_, PyAny>,
) -> PyResult<Vec<PitchCheck>> {
    let py = samples.py();
    let sample_rate = sample_rate_arg(sample_rate)?;
    let time = float_arg("time", Some(time))?.unwrap_or(0.0);
    let pitches = pitch_list(pitches)?;
    let config = NoteConfig::for_rate(sample_rate);
    validate_pitches(&pitches, &config).map_err(engine_err)?;
    let samples = Samples::extract(samples)?;
    let slice = samples.as_slice();
    let checks = py
        .detach(|| etude_core::check_pitches(slice, sample_rate, time, &pitches, config))
        .map_err(engine_err)?;
    Ok(checks.iter().map(PitchCheck::from).collect())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PitchFrame>()?;
    m.add_class::<PitchTrack>()?;
    m.add_class::<LoudnessFrame>()?;
    m.add_class::<NoteEvent>()?;
    m.add_class::<NoteOff>()?;
    m.add_class::<Note>()?;
    m.add_class::<OnsetLevel>()?;
    m.add_class::<PitchCheck>()?;
    m.add_class::<Dynamics>()?;
    m.add_function(wrap_pyfunction!(detect_pitch, m)?)?;
    m.add_function(wrap_pyfunction!(transcribe, m)?)?;
    m.add_function(wrap_pyfunction!(analyze_dynamics, m)?)?;
    m.add_function(wrap_pyfunction!(check_pitches, m)?)?;
    Ok(())
}
