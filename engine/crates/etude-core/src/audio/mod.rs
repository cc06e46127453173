//! Audio analysis on mono `f32` samples (full scale = ±1.0).
//!
//! * [`levels`] — RMS and peak in dBFS.
//! * [`onset`] — spectral-flux onset detection, streaming or whole-buffer.
//! * [`pitch`] — monophonic f0 tracking (YIN) with a confidence per frame.
//! * [`notes`] — polyphonic notes at onsets (harmonic sum with iterative
//!   subtraction), their dynamics (level, estimated MIDI velocity), note ends
//!   and the score-informed check of expected pitches.
//! * [`analyser`] — [`StreamingAnalyser`](analyser::StreamingAnalyser), which
//!   combines the above per incoming chunk, and [`analyser::analyse`], the
//!   same on a whole buffer.

pub mod analyser;
pub(crate) mod frames;
pub mod levels;
pub(crate) mod note_model;
#[rustfmt::skip]
pub(crate) mod note_weights;
pub mod notes;
pub mod onset;
pub mod pitch;

pub use frames::{hz_to_midi, midi_to_hz};

use crate::error::{EngineError, Result};

/// Lowest sample rate accepted, in Hz.
pub const MIN_SAMPLE_RATE: u32 = 4_000;
/// Highest sample rate accepted, in Hz.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Checks that `sample_rate` (Hz) is within
/// [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] and returns it as `u32`.
///
/// Takes `u64` so callers holding wider integers (e.g. from Python) validate
/// before narrowing.
pub fn validate_sample_rate(sample_rate: u64) -> Result<u32> {
    match u32::try_from(sample_rate) {
        Ok(sr) if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sr) => Ok(sr),
        _ => Err(EngineError::BadSampleRate { sample_rate }),
    }
}

/// Checks that `samples` is non-empty and that every sample is finite.
///
/// Reports the first offending index.
pub fn validate_samples(samples: &[f32]) -> Result<()> {
    if samples.is_empty() {
        return Err(EngineError::EmptyInput);
    }
    // A cheap branch-free pass first; locate the culprit only on failure.
    if samples.iter().all(|x| x.is_finite()) {
        return Ok(());
    }
    match samples.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(EngineError::NonFinite {
            index,
            value: samples[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rate_bounds() {
        assert_eq!(validate_sample_rate(44_100), Ok(44_100));
        assert_eq!(validate_sample_rate(4_000), Ok(4_000));
        assert_eq!(validate_sample_rate(768_000), Ok(768_000));
        for bad in [0, 10, 3_999, 768_001, 10_000_000, u64::MAX] {
            assert_eq!(
                validate_sample_rate(bad),
                Err(EngineError::BadSampleRate { sample_rate: bad })
            );
        }
    }

    #[test]
    fn sample_validation() {
        assert_eq!(validate_samples(&[]), Err(EngineError::EmptyInput));
        assert_eq!(validate_samples(&[0.0, 1.0, -1.0]), Ok(()));
        let Err(EngineError::NonFinite { index, value }) = validate_samples(&[0.0, f32::NAN])
        else {
            panic!("NaN accepted");
        };
        assert_eq!(index, 1);
        assert!(value.is_nan());
        assert_eq!(
            validate_samples(&[0.0, 0.5, f32::NEG_INFINITY, f32::NAN]),
            Err(EngineError::NonFinite {
                index: 2,
                value: f32::NEG_INFINITY
            })
        );
    }
}
