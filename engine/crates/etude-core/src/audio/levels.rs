//! Signal levels: RMS and peak, in dBFS.
//!
//! Convention: 0 dBFS is a sample of magnitude 1.0, so a full-scale sine has a
//! peak of 0 dBFS and an RMS of −3.01 dBFS (no AES-17 +3 dB offset). Levels
//! never go below [`SILENCE_FLOOR_DBFS`]; digital silence reports exactly that.

use super::validate_samples;
use crate::error::Result;

/// The lowest level reported, in dBFS; digital silence sits here.
pub const SILENCE_FLOOR_DBFS: f64 = -120.0;

/// RMS and peak level of a block of samples, in dBFS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Root-mean-square level, dBFS (≥ [`SILENCE_FLOOR_DBFS`]).
    pub rms_dbfs: f64,
    /// Peak absolute sample level, dBFS (≥ [`SILENCE_FLOOR_DBFS`]).
    pub peak_dbfs: f64,
}

/// Converts a linear amplitude (1.0 = full scale) to dBFS, clamped at the floor.
#[inline]
pub fn amplitude_to_dbfs(amplitude: f64) -> f64 {
    if amplitude > 0.0 {
        (20.0 * amplitude.log10()).max(SILENCE_FLOOR_DBFS)
    } else {
        SILENCE_FLOOR_DBFS
    }
}

/// Computes the RMS and peak of already-validated samples (non-empty, finite).
///
/// Accumulates in `f64`, so long buffers keep their precision.
pub(crate) fn levels_unchecked(samples: &[f32]) -> Levels {
    // Four lanes, so that the loop vectorises.
    let mut sums = [0.0f64; 4];
    let mut peaks = [0.0f32; 4];
    let mut quads = samples.chunks_exact(4);
    for q in &mut quads {
        for ((s, p), &x) in sums.iter_mut().zip(peaks.iter_mut()).zip(q) {
            *s += f64::from(x) * f64::from(x);
            *p = p.max(x.abs());
        }
    }
    let mut sum_sq = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    let mut peak = peaks.iter().copied().fold(0.0f32, f32::max);
    for &x in quads.remainder() {
        sum_sq += f64::from(x) * f64::from(x);
        peak = peak.max(x.abs());
    }
    // `samples` is non-empty here (validated by the callers), but stay total.
    let n = samples.len().max(1) as f64;
    Levels {
        rms_dbfs: amplitude_to_dbfs((sum_sq / n).sqrt()),
        peak_dbfs: amplitude_to_dbfs(f64::from(peak)),
    }
}

/// RMS and peak level of `samples`, in dBFS.
///
/// # Errors
/// [`EngineError::EmptyInput`](crate::EngineError::EmptyInput) for no samples,
/// [`EngineError::NonFinite`](crate::EngineError::NonFinite) for NaN or ±∞.
pub fn levels(samples: &[f32]) -> Result<Levels> {
    validate_samples(samples)?;
    Ok(levels_unchecked(samples))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineError;
    use std::f64::consts::TAU;

    fn sine(amplitude: f64, freq: f64, sr: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (amplitude * (TAU * freq * i as f64 / sr).sin()) as f32)
            .collect()
    }

    #[test]
    fn sine_at_minus_6_dbfs() {
        let amp = 10f64.powf(-6.0 / 20.0);
        // 1 s of 1 kHz at 48 kHz: a whole number of periods.
        let l = levels(&sine(amp, 1000.0, 48_000.0, 48_000)).unwrap();
        // −6 dBFS peak minus the sine's crest factor (3.0103 dB).
        assert!((l.rms_dbfs - (-9.0103)).abs() < 0.001, "{l:?}");
        assert!((l.peak_dbfs - (-6.0)).abs() < 0.001, "{l:?}");
    }

    #[test]
    fn full_scale_square_is_zero_dbfs() {
        let l = levels(&[1.0, -1.0, 1.0, -1.0]).unwrap();
        assert!(l.rms_dbfs.abs() < 1e-9 && l.peak_dbfs.abs() < 1e-9);
    }

    #[test]
    fn silence_is_the_floor() {
        let l = levels(&[0.0; 4096]).unwrap();
        assert_eq!(l.rms_dbfs, SILENCE_FLOOR_DBFS);
        assert_eq!(l.peak_dbfs, SILENCE_FLOOR_DBFS);
        // Sub-floor noise clamps too.
        let l = levels(&[1e-9, -1e-9]).unwrap();
        assert_eq!(l.rms_dbfs, SILENCE_FLOOR_DBFS);
        assert_eq!(l.peak_dbfs, SILENCE_FLOOR_DBFS);
    }

    #[test]
    fn bad_input() {
        assert_eq!(levels(&[]), Err(EngineError::EmptyInput));
        assert!(matches!(
            levels(&[0.1, f32::NAN]),
            Err(EngineError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            levels(&[f32::INFINITY]),
            Err(EngineError::NonFinite { index: 0, .. })
        ));
    }
}
