//! Building blocks shared by the frame-based analyses: a magnitude spectrum
//! with its FFT plan and buffers made once, and a ring of recent samples
//! addressed by absolute position in the stream.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Hann-windowed magnitude spectrum of a fixed-size frame.
///
/// Magnitudes are normalised so that a sine of amplitude `A` centred on a bin
/// peaks at about `A`.
pub(crate) struct Spectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    mags: Vec<f32>,
}

impl Spectrum {
    /// A spectrum of `size`-sample frames (`size` ≥ 2, even).
    pub(crate) fn new(size: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(size);
        let hann: Vec<f64> = (0..size)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / size as f64).cos())
            .collect();
        let sum: f64 = hann.iter().sum();
        let gain = 2.0 / sum;
        Self {
            window: hann.iter().map(|w| (w * gain) as f32).collect(),
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            mags: vec![0.0; size / 2 + 1],
            fft,
        }
    }

    /// Number of magnitude bins (`size / 2 + 1`).
    pub(crate) fn bins(&self) -> usize {
        self.mags.len()
    }

    /// The magnitudes of `frame` (exactly [`size`](Self::size) samples).
    pub(crate) fn compute(&mut self, frame: &[f32]) -> &[f32] {
        for ((dst, &x), &w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *dst = x * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .is_err()
        {
            // Lengths come from the plan: cannot happen. Silence is the
            // harmless fallback.
            self.mags.fill(0.0);
            return &self.mags;
        }
        for (m, c) in self.mags.iter_mut().zip(&self.output) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
        &self.mags
    }
}

/// The most recent samples of a stream, addressed by absolute position.
#[derive(Debug, Clone)]
pub(crate) struct SampleRing {
    buf: Vec<f32>,
    /// Total samples pushed since the start (or the last reset).
    end: u64,
}

impl SampleRing {
    /// A ring holding the last `capacity` samples.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buf: vec![0.0; capacity.max(1)],
            end: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.buf.fill(0.0);
        self.end = 0;
    }

    /// Absolute position one past the newest sample.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    pub(crate) fn push(&mut self, samples: &[f32]) {
        let cap = self.buf.len();
        // Only the last `cap` samples can matter.
        let skip = samples.len().saturating_sub(cap);
        self.end += skip as u64;
        let mut rest = &samples[skip..];
        // At most two contiguous copies: up to the buffer's end, then from
        // its start (one division per call, not per sample).
        while !rest.is_empty() {
            let slot = (self.end % cap as u64) as usize;
            let take = (cap - slot).min(rest.len());
            let (head, tail) = rest.split_at(take);
            self.buf[slot..slot + take].copy_from_slice(head);
            self.end += take as u64;
            rest = tail;
        }
    }

    /// Copies samples `start .. start + out.len()` (absolute positions) into
    /// `out`. Positions before the stream's start read as silence; positions
    /// no longer (or not yet) held read as silence too, which the callers
    /// avoid by sizing the ring.
    pub(crate) fn copy_to(&self, start: i64, out: &mut [f32]) {
        let cap = self.buf.len() as i64;
        let end = i64::try_from(self.end).unwrap_or(i64::MAX);
        let oldest = (end - cap).max(0);
        let len = out.len() as i64;
        // The held part of the request, `lo..hi` (absolute positions).
        let lo = start.clamp(oldest, end);
        let hi = (start + len).clamp(lo, end);
        // Both offsets lie in 0..=len.
        let head = (lo - start).clamp(0, len) as usize;
        let held = (hi - lo) as usize;
        out[..head].fill(0.0);
        out[head + held..].fill(0.0);
        let mut pos = lo;
        let mut dst = &mut out[head..head + held];
        // At most two contiguous copies (the ring wraps once).
        while !dst.is_empty() {
            let slot = pos.rem_euclid(cap) as usize;
            let take = (self.buf.len() - slot).min(dst.len());
            let (now, later) = dst.split_at_mut(take);
            now.copy_from_slice(&self.buf[slot..slot + take]);
            pos += take as i64;
            dst = later;
        }
    }
}

/// MIDI note number to frequency, Hz (A4 = 69 = 440 Hz).
#[inline]
pub fn midi_to_hz(pitch: f64) -> f64 {
    440.0 * ((pitch - 69.0) / 12.0).exp2()
}

/// Frequency (Hz, > 0) to a fractional MIDI note number.
#[inline]
pub fn hz_to_midi(hz: f64) -> f64 {
    69.0 + 12.0 * (hz / 440.0).log2()
}

/// The power of two nearest (in log scale) to `seconds` at `sample_rate`,
/// clamped to `min..=max`.
pub(crate) fn pow2_frame(seconds: f64, sample_rate: u32, min: usize, max: usize) -> usize {
    let n = (seconds * f64::from(sample_rate)).max(1.0);
    let p = n.log2().round().clamp(0.0, 30.0) as u32;
    (1usize << p).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_addresses_absolute_positions() {
        let mut r = SampleRing::new(4);
        r.push(&[1.0, 2.0, 3.0]);
        let mut out = [9.0; 5];
        r.copy_to(-2, &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0, 3.0]);
        r.push(&[4.0, 5.0, 6.0]);
        assert_eq!(r.end(), 6);
        let mut out = [9.0; 5];
        r.copy_to(1, &mut out);
        // Position 1 is gone (only 2..6 held), 6 is not there yet.
        assert_eq!(out, [0.0, 3.0, 4.0, 5.0, 6.0]);
        r.push(&[7.0; 10]);
        assert_eq!(r.end(), 16);
        let mut out = [0.0; 4];
        r.copy_to(12, &mut out);
        assert_eq!(out, [7.0; 4]);
    }

    #[test]
    fn ring_copies_equal_sample_by_sample_reads() {
        // Against a plain record of the stream, for pushes and reads of every
        // size around the capacity (wrapping, partly held, not yet held).
        let cap = 7;
        let mut r = SampleRing::new(cap);
        let mut all: Vec<f32> = Vec::new();
        let mut next = 1.0f32;
        for push in [1usize, 3, 7, 2, 9, 5, 14, 1, 6] {
            let piece: Vec<f32> = (0..push)
                .map(|_| {
                    next += 1.0;
                    next
                })
                .collect();
            r.push(&piece);
            all.extend(&piece);
            let end = all.len() as i64;
            for start in -3..end + 3 {
                for len in 0..=cap + 3 {
                    let mut out = vec![-1.0f32; len];
                    r.copy_to(start, &mut out);
                    let want: Vec<f32> = (start..start + len as i64)
                        .map(|p| {
                            if p < 0 || p < end - cap as i64 || p >= end {
                                0.0
                            } else {
                                all[p as usize]
                            }
                        })
                        .collect();
                    assert_eq!(out, want, "start {start}, len {len}, end {end}");
                }
            }
        }
    }

    #[test]
    fn spectrum_peak_is_the_amplitude() {
        let n = 2048;
        let sr = 44_100.0;
        let bin = 100.0;
        let f = bin * sr / n as f64;
        let x: Vec<f32> = (0..n)
            .map(|i| (0.5 * (std::f64::consts::TAU * f * i as f64 / sr).sin()) as f32)
            .collect();
        let mut s = Spectrum::new(n);
        let m = s.compute(&x);
        assert!((m[100] - 0.5).abs() < 0.01, "{}", m[100]);
        assert!(m[90] < 1e-3);
    }

    #[test]
    fn pitch_conversions() {
        assert!((midi_to_hz(69.0) - 440.0).abs() < 1e-9);
        assert!((midi_to_hz(60.0) - 261.6256).abs() < 1e-3);
        assert!((hz_to_midi(880.0) - 81.0).abs() < 1e-9);
        assert_eq!(pow2_frame(0.0464, 44_100, 64, 65_536), 2048);
        assert_eq!(pow2_frame(0.0464, 48_000, 64, 65_536), 2048);
        assert_eq!(pow2_frame(0.0464, 16_000, 64, 65_536), 1024);
        assert_eq!(pow2_frame(10.0, 768_000, 64, 65_536), 65_536);
    }
}
