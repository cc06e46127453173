//! `etude_engine._engine`: the Python face of `etude-core`.
//!
//! Glue only: argument checking, numpy conversion and error mapping. All
//! analysis lives in `etude-core`.
//!
//! Rules kept here:
//! * Audio comes in as 1-D `float32` numpy arrays, read in place (zero copy;
//!   a non-contiguous view is copied once). Any other dtype, shape or type is
//!   refused with a clear message, never converted silently.
//! * Exceptions are the ones defined in Python in `etude_engine.exceptions`;
//!   [`engine_err`] maps every core error to one of them.
//! * Nothing here may panic: every failure is a Python exception.

mod assessment;

mod audio;

mod follow;

mod recognize;

use etude_core::audio::{validate_sample_rate, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use etude_core::{
    AnalyserConfig, EngineError as CoreError, NoteConfig, OnsetConfig, PitchConfig,
    SILENCE_FLOOR_DBFS,
};
use numpy::{
    dtype, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;

pyo3::import_exception!(etude_engine.exceptions, EngineError);
pyo3::import_exception!(etude_engine.exceptions, InvalidAudioError);
pyo3::import_exception!(etude_engine.exceptions, AudioTypeError);
pyo3::import_exception!(etude_engine.exceptions, InvalidConfigError);

/// The exception names the module needs from `etude_engine.exceptions`.
const EXCEPTIONS: [&str; 4] = [
    "EngineError",
    "InvalidAudioError",
    "AudioTypeError",
    "InvalidConfigError",
];

/// The one mapping from core errors to Python exceptions. Exhaustive on
/// purpose: a new core variant must be placed here before this compiles.
pub(crate) fn engine_err(err: CoreError) -> PyErr {
    let msg = err.to_string();
    match err {
        CoreError::EmptyInput | CoreError::NonFinite { .. } => InvalidAudioError::new_err(msg),
        CoreError::BadSampleRate { .. }
        | CoreError::BadFrameSize { .. }
        | CoreError::BadHopSize { .. }
        | CoreError::BadParameter { .. }
        | CoreError::BadPitch { .. } => InvalidConfigError::new_err(msg),
    }
}

/// Audio samples taken from Python: borrowed in place when contiguous.
pub(crate) enum Samples<'py> {
    Borrowed(PyReadonlyArray1<'py, f32>),
    Copied(Vec<f32>),
}

impl<'py> Samples<'py> {
    /// Accepts exactly a 1-D numpy array of native-endian float32.
    pub(crate) fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let Ok(untyped) = obj.cast::<PyUntypedArray>() else {
            let type_name = obj
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string());
            return Err(AudioTypeError::new_err(format!(
                "samples must be a 1-D numpy.ndarray of float32, got {type_name} \
                 (use numpy.asarray(samples, dtype=numpy.float32))"
            )));
        };
        let ndim = untyped.ndim();
        if ndim != 1 {
            let shape: Vec<String> = untyped.shape().iter().map(|d| d.to_string()).collect();
            return Err(InvalidAudioError::new_err(format!(
                "samples must be a 1-D array (mono), got {ndim}-D with shape ({})",
                shape.join(", ")
            )));
        }
        let found = untyped.dtype();
        if !found.is_equiv_to(&dtype::<f32>(py)) {
            let found = found
                .str()
                .map_or_else(|_| "?".to_owned(), |s| s.to_string());
            return Err(AudioTypeError::new_err(format!(
                "samples must have dtype float32, got {found} \
                 (convert explicitly, e.g. samples.astype(numpy.float32))"
            )));
        }
        let array = untyped.cast::<PyArray1<f32>>().map_err(|_| {
            AudioTypeError::new_err("samples must be a 1-D numpy.ndarray of float32")
        })?;
        // Fails only while Rust code elsewhere holds a writable borrow.
        let readonly = array
            .try_readonly()
            .map_err(|e| EngineError::new_err(format!("samples array is busy: {e}")))?;
        if readonly.as_slice().is_ok() {
            Ok(Self::Borrowed(readonly))
        } else {
            // A strided view (e.g. x[::2]): same values, copied once.
            Ok(Self::Copied(readonly.as_array().iter().copied().collect()))
        }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        match self {
            // Contiguity was checked in `extract`; an empty slice (reported as
            // empty input) is the non-panicking fallback.
            Self::Borrowed(array) => array.as_slice().unwrap_or(&[]),
            Self::Copied(samples) => samples,
        }
    }
}

/// An integer argument (a Python int or anything with `__index__`) that must
/// not be negative: sizes and rates. Any int out of range is an
/// `InvalidConfigError`, whatever its size; a non-integer is a `TypeError`.
pub(crate) fn non_negative(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    let shown = || {
        value
            .repr()
            .map_or_else(|_| "?".to_owned(), |r| r.to_string())
    };
    match value.extract::<i64>() {
        Ok(v) => u64::try_from(v).map_err(|_| {
            InvalidConfigError::new_err(format!("{name} must not be negative, got {v}"))
        }),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => Err(InvalidConfigError::new_err(
            format!("{name} is out of range, got {}", shown()),
        )),
        Err(_) => {
            let type_name = value
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string());
            Err(PyTypeError::new_err(format!(
                "{name} must be an int, got {type_name} {}",
                shown()
            )))
        }
    }
}

pub(crate) fn sample_rate_arg(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    validate_sample_rate(non_negative("sample_rate", value)?).map_err(engine_err)
}

/// Frame and hop sizes from optional Python arguments (defaults: the core's).
pub(crate) fn onset_config(
    frame_size: Option<&Bound<'_, PyAny>>,
    hop_size: Option<&Bound<'_, PyAny>>,
) -> PyResult<OnsetConfig> {
    let defaults = OnsetConfig::default();
    // Values beyond usize (not on 64-bit targets) saturate and are refused by
    // the core's range checks.
    let size = |name, arg: Option<&Bound<'_, PyAny>>, default| match arg {
        Some(v) => Ok(usize::try_from(non_negative(name, v)?).unwrap_or(usize::MAX)),
        None => PyResult::Ok(default),
    };
    let frame = size("frame_size", frame_size, defaults.frame_size)?;
    let hop = size("hop_size", hop_size, defaults.hop_size)?;
    let config = OnsetConfig::with_sizes(frame, hop);
    config.validate().map_err(engine_err)?;
    Ok(config)
}

/// Figures for one processed chunk (immutable).
#[pyclass(
    frozen,
    eq,
    get_all,
    module = "etude_engine._engine",
    name = "ChunkFigures"
)]
#[derive(Debug, Clone, PartialEq)]
struct ChunkFigures {
    rms_dbfs: f64,
    peak_dbfs: f64,
    onset: bool,
    onset_times: Vec<f64>,
    onset_strengths: Vec<f64>,
    flux: f64,
    frames: usize,
    pitch: Vec<audio::PitchFrame>,
    loudness: Vec<audio::LoudnessFrame>,
    notes: Vec<audio::NoteEvent>,
    note_offs: Vec<audio::NoteOff>,
    onset_levels: Vec<audio::OnsetLevel>,
    checks: Vec<audio::PitchCheck>,
}

#[pymethods]
impl ChunkFigures {
    fn __repr__(&self) -> String {
        format!(
            "ChunkFigures(rms_dbfs={:.2}, peak_dbfs={:.2}, onset={}, onset_times={:?}, \
             flux={:.4}, frames={}, pitch=[{} frames], notes={}, note_offs={})",
            self.rms_dbfs,
            self.peak_dbfs,
            if self.onset { "True" } else { "False" },
            self.onset_times,
            self.flux,
            self.frames,
            self.pitch.len(),
            self.notes.len(),
            self.note_offs.len()
        )
    }
}

impl ChunkFigures {
    fn new(f: &etude_core::ChunkFigures, sample_rate: u32) -> Self {
        Self {
            rms_dbfs: f.rms_dbfs,
            peak_dbfs: f.peak_dbfs,
            onset: f.onset(),
            onset_times: f.onset_times().collect(),
            onset_strengths: f.onsets.iter().map(|o| f64::from(o.strength)).collect(),
            flux: f64::from(f.flux),
            frames: f.frames,
            pitch: f.pitch.iter().map(Into::into).collect(),
            loudness: f.loudness.iter().map(Into::into).collect(),
            notes: f.notes.notes.iter().map(Into::into).collect(),
            note_offs: f
                .notes
                .note_offs
                .iter()
                .map(|o| audio::note_off(o, sample_rate))
                .collect(),
            onset_levels: f.notes.onset_levels.iter().map(Into::into).collect(),
            checks: f.notes.checks.iter().map(Into::into).collect(),
        }
    }
}

/// Streaming analysis of a mono float32 stream, chunk by chunk.
#[pyclass(module = "etude_engine._engine", name = "StreamingAnalyser")]
struct StreamingAnalyser {
    inner: etude_core::StreamingAnalyser,
}

#[pymethods]
impl StreamingAnalyser {
    #[new]
    #[pyo3(
        signature = (sample_rate, frame_size = None, hop_size = None, *, pitch = true, notes = true),
        text_signature = "(sample_rate, frame_size=1024, hop_size=256, *, pitch=True, notes=True)"
    )]
    fn new(
        sample_rate: &Bound<'_, PyAny>,
        frame_size: Option<&Bound<'_, PyAny>>,
        hop_size: Option<&Bound<'_, PyAny>>,
        pitch: bool,
        notes: bool,
    ) -> PyResult<Self> {
        let sample_rate = sample_rate_arg(sample_rate)?;
        let onset = onset_config(frame_size, hop_size)?;
        let config = AnalyserConfig {
            onset,
            pitch: pitch.then(|| PitchConfig::for_rate(sample_rate)),
            notes: notes.then(|| NoteConfig::for_rate(sample_rate)),
        };
        let inner =
            etude_core::StreamingAnalyser::with_config(sample_rate, config).map_err(engine_err)?;
        Ok(Self { inner })
    }

    /// Analyses the next chunk; a rejected chunk leaves the analyser unchanged.
    fn process(&mut self, chunk: &Bound<'_, PyAny>) -> PyResult<ChunkFigures> {
        let samples = Samples::extract(chunk)?;
        let figures = self.inner.process(samples.as_slice()).map_err(engine_err)?;
        Ok(ChunkFigures::new(&figures, self.inner.sample_rate()))
    }

    /// Sets the pitches the score expects at the next onset.
    fn expect(&mut self, pitches: &Bound<'_, PyAny>) -> PyResult<()> {
        let pitches = audio::pitch_list(pitches)?;
        self.inner.expect(&pitches).map_err(engine_err)
    }

    /// Ends the stream: returns the ends of the notes still sounding, then
    /// resets.
    fn finish(&mut self) -> Vec<audio::NoteOff> {
        let sample_rate = self.inner.sample_rate();
        self.inner
            .finish()
            .note_offs
            .iter()
            .map(|o| audio::note_off(o, sample_rate))
            .collect()
    }

    /// Starts a new stream.
    fn reset(&mut self) {
        self.inner.reset();
    }

    #[getter]
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    #[getter]
    fn samples_seen(&self) -> u64 {
        self.inner.samples_seen()
    }

    #[getter]
    fn frame_size(&self) -> usize {
        self.inner.onset_config().frame_size
    }

    #[getter]
    fn hop_size(&self) -> usize {
        self.inner.onset_config().hop_size
    }

    #[getter]
    fn latency_samples(&self) -> usize {
        self.inner.onset_latency_samples()
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamingAnalyser(sample_rate={}, frame_size={}, hop_size={}, samples_seen={})",
            self.sample_rate(),
            self.frame_size(),
            self.hop_size(),
            self.samples_seen()
        )
    }
}

/// RMS and peak level of a whole buffer, in dBFS.
#[pyfunction]
fn levels(samples: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    let samples = Samples::extract(samples)?;
    let l = etude_core::levels(samples.as_slice()).map_err(engine_err)?;
    Ok((l.rms_dbfs, l.peak_dbfs))
}

/// Onset times (seconds) of a whole buffer; releases the GIL while working.
#[pyfunction]
#[pyo3(
    signature = (samples, sample_rate, *, frame_size = None, hop_size = None),
    text_signature = "(samples, sample_rate, *, frame_size=1024, hop_size=256)"
)]
fn detect_onsets<'py>(
    samples: &Bound<'py, PyAny>,
    sample_rate: &Bound<'py, PyAny>,
    frame_size: Option<&Bound<'py, PyAny>>,
    hop_size: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = samples.py();
    let sample_rate = sample_rate_arg(sample_rate)?;
    let config = onset_config(frame_size, hop_size)?;
    let samples = Samples::extract(samples)?;
    let slice = samples.as_slice();
    let times = py
        .detach(|| {
            etude_core::detect_onsets(slice, sample_rate, config)
                .map(|onsets| onsets.iter().map(|o| o.time).collect::<Vec<f64>>())
        })
        .map_err(engine_err)?;
    Ok(PyArray1::from_vec(py, times))
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // Import numpy and the exception classes now, so a broken install fails
    // here with an ImportError instead of later (where pyo3 and numpy would
    // panic on a missing module).
    py.import("numpy")?;
    let exceptions = py.import("etude_engine.exceptions")?;
    for name in EXCEPTIONS {
        exceptions.getattr(name)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SILENCE_FLOOR_DBFS", SILENCE_FLOOR_DBFS)?;
    m.add("MIN_SAMPLE_RATE", MIN_SAMPLE_RATE)?;
    m.add("MAX_SAMPLE_RATE", MAX_SAMPLE_RATE)?;
    m.add_class::<StreamingAnalyser>()?;
    m.add_class::<ChunkFigures>()?;
    m.add_function(wrap_pyfunction!(levels, m)?)?;
    m.add_function(wrap_pyfunction!(detect_onsets, m)?)?;
    audio::register(m)?;
    assessment::register(m)?;
    follow::register(m)?;
    recognize::register(m)?;
    Ok(())
}
