//! Monophonic pitch (f0) tracking with YIN, streaming or whole-buffer.
//!
//! # Method (de Cheveigné & Kawahara, 2002)
//!
//! Frame `n` covers samples `n·hop .. n·hop + frame_size`; its first half is
//! the integration window (`W = frame_size / 2`) and lags go up to `W`.
//!
//! 1. Difference function `d(τ) = Σ_{j<W} (x_j − x_{j+τ})²`, computed as
//!    `e(0) + e(τ) − 2·r(τ)` with the cross term `r` from one real FFT of the
//!    window, one of the frame and one inverse (no wrap-around: the frame is
//!    long enough) and the energies `e` from running sums.
//! 2. Cumulative-mean-normalised difference `d'(τ) = d(τ)·τ / Σ_{k≤τ} d(k)`.
//! 3. The first lag in `sr/fmax ..= sr/fmin` where `d'` dips under
//!    `threshold`, followed down to its local minimum, refined by a parabola
//!    through its neighbours. No dip: the global minimum, marked unvoiced.
//! 4. `confidence = 1 − d'(τ)` (clamped to `0..=1`); a frame whose RMS is
//!    below `silence_dbfs` is unvoiced with f0 0 and confidence 0.
//!
//! A frame is reported once complete, so the latency is `frame_size / 2`
//! samples after its centre. Piano chords have no single f0: use
//! [`notes`](super::notes) for polyphony; YIN serves monophonic lines.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::frames::pow2_frame;
use super::levels::amplitude_to_dbfs;
use super::onset::{MAX_FRAME_SIZE, MIN_FRAME_SIZE};
use super::{validate_sample_rate, validate_samples};
use crate::error::{EngineError, Result};

/// Settings of the pitch tracker. Start from [`PitchConfig::for_rate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchConfig {
    /// Frame length in samples (even, `MIN_FRAME_SIZE..=MAX_FRAME_SIZE`);
    /// half of it is the integration window, half the lag range.
    pub frame_size: usize,
    /// Samples between frames (`1..=frame_size`).
    pub hop_size: usize,
    /// Lowest f0 searched, Hz. Needs `sample_rate / fmin < frame_size / 2`.
    pub fmin: f64,
    /// Highest f0 searched, Hz (below the Nyquist frequency).
    pub fmax: f64,
    /// YIN's absolute threshold on `d'` (0 < threshold < 1).
    pub threshold: f64,
    /// Frames quieter than this RMS (dBFS) are silent: unvoiced, f0 = 0.
    pub silence_dbfs: f64,
}

impl PitchConfig {
    /// Defaults for a sample rate: a ~46 ms frame (2048 samples at
    /// 44.1/48 kHz), hop 512, 40–2100 Hz (piano E1 to C7), threshold 0.15,
    /// silence below −60 dBFS. `fmin` is raised if the frame cannot hold it.
    pub fn for_rate(sample_rate: u32) -> Self {
        let frame_size = pow2_frame(0.0464, sample_rate, MIN_FRAME_SIZE, MAX_FRAME_SIZE);
        let sr = f64::from(sample_rate);
        let lowest = sr / (frame_size / 2 - 2) as f64;
        Self {
            frame_size,
            hop_size: 512.min(frame_size),
            fmin: 40.0f64.max(lowest),
            fmax: 2100.0f64.min(sr * 0.45),
            threshold: 0.15,
            silence_dbfs: -60.0,
        }
    }

    /// Checks every field against the sample rate.
    ///
    /// # Errors
    /// [`EngineError::BadFrameSize`], [`EngineError::BadHopSize`] or
    /// [`EngineError::BadParameter`].
    pub fn validate(&self, sample_rate: u32) -> Result<()> {
        let n = self.frame_size;
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&n) || n % 2 != 0 {
            return Err(EngineError::BadFrameSize { frame_size: n });
        }
        if self.hop_size == 0 || self.hop_size > n {
            return Err(EngineError::BadHopSize {
                hop_size: self.hop_size,
                frame_size: n,
            });
        }
        let sr = f64::from(sample_rate);
        let bad = |name, value| Err(EngineError::BadParameter { name, value });
        if !(self.fmin.is_finite() && self.fmin > 0.0 && sr / self.fmin < (n / 2 - 1) as f64) {
            return bad("fmin", self.fmin);
        }
        if !(self.fmax.is_finite() && self.fmax > self.fmin && self.fmax < sr / 2.0) {
            return bad("fmax", self.fmax);
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return bad("threshold", self.threshold);
        }
        if !self.silence_dbfs.is_finite() {
            return bad("silence_dbfs", self.silence_dbfs);
        }
        Ok(())
    }
}

/// The pitch estimate of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchFrame {
    /// Frame index (frame `n` is centred on sample `n·hop + frame_size/2`).
    pub frame: u64,
    /// Centre of the frame, seconds since the start of the stream.
    pub time: f64,
    /// Fundamental frequency, Hz (0.0 for a silent frame).
    pub f0: f64,
    /// How periodic the frame is, `0..=1` (`1 − d'` at the chosen lag).
    pub confidence: f64,
    /// Whether `d'` dipped under the threshold (and the frame is not silent).
    pub voiced: bool,
}

impl PitchFrame {
    /// The f0 as a fractional MIDI note number (`None` for f0 = 0).
    pub fn midi(&self) -> Option<f64> {
        (self.f0 > 0.0).then(|| super::frames::hz_to_midi(self.f0))
    }
}

/// Streaming YIN pitch tracker. See the [module docs](self).
pub struct PitchTracker {
    config: PitchConfig,
    sample_rate: u32,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    frame: Vec<f32>,
    fill: usize,
    fft_in: Vec<f32>,
    spec_frame: Vec<Complex<f32>>,
    spec_window: Vec<Complex<f32>>,
    scratch_fwd: Vec<Complex<f32>>,
    scratch_inv: Vec<Complex<f32>>,
    corr: Vec<f32>,
    cmnd: Vec<f64>,
    tau_min: usize,
    tau_max: usize,
    frames: u64,
}

impl std::fmt::Debug for PitchTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PitchTracker")
            .field("config", &self.config)
            .field("sample_rate", &self.sample_rate)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl PitchTracker {
    /// A tracker for a stream at `sample_rate` Hz.
    ///
    /// # Errors
    /// [`EngineError::BadSampleRate`] or as [`PitchConfig::validate`].
    pub fn new(sample_rate: u32, config: PitchConfig) -> Result<Self> {
        let sample_rate = validate_sample_rate(u64::from(sample_rate))?;
        config.validate(sample_rate)?;
        let n = config.frame_size;
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let sr = f64::from(sample_rate);
        let tau_min = ((sr / config.fmax).floor() as usize).max(2);
        let tau_max = ((sr / config.fmin).ceil() as usize).min(n / 2 - 1);
        Ok(Self {
            fft_in: forward.make_input_vec(),
            spec_frame: forward.make_output_vec(),
            spec_window: forward.make_output_vec(),
            scratch_fwd: forward.make_scratch_vec(),
            scratch_inv: inverse.make_scratch_vec(),
            corr: inverse.make_output_vec(),
            cmnd: vec![0.0; tau_max + 2],
            frame: vec![0.0; n],
            fill: 0,
            forward,
            inverse,
            config,
            sample_rate,
            tau_min,
            tau_max,
            frames: 0,
        })
    }

    /// Forgets the stream.
    pub fn reset(&mut self) {
        self.frame.fill(0.0);
        self.fill = 0;
        self.frames = 0;
    }

    /// The settings in use.
    pub fn config(&self) -> &PitchConfig {
        &self.config
    }

    /// Feeds the next chunk (any length ≥ 1) and appends the frames it
    /// completes to `out`.
    ///
    /// # Errors
    /// [`EngineError::EmptyInput`] or [`EngineError::NonFinite`]; then nothing
    /// is consumed.
    pub fn process(&mut self, chunk: &[f32], out: &mut Vec<PitchFrame>) -> Result<()> {
        validate_samples(chunk)?;
        self.process_unchecked(chunk, out);
        Ok(())
    }

    pub(crate) fn process_unchecked(&mut self, mut chunk: &[f32], out: &mut Vec<PitchFrame>) {
        let n = self.config.frame_size;
        let hop = self.config.hop_size;
        while !chunk.is_empty() {
            let take = (n - self.fill).min(chunk.len());
            let (head, rest) = chunk.split_at(take);
            self.frame[self.fill..self.fill + take].copy_from_slice(head);
            self.fill += take;
            chunk = rest;
            if self.fill < n {
                break;
            }
            let index = self.frames;
            let (f0, confidence, voiced) = self.analyse_frame();
            let sample = index * hop as u64 + n as u64 / 2;
            out.push(PitchFrame {
                frame: index,
                time: sample as f64 / f64::from(self.sample_rate),
                f0,
                confidence,
                voiced,
            });
            self.frames += 1;
            self.frame.copy_within(hop.., 0);
            self.fill = n - hop;
        }
    }

    /// (f0, confidence, voiced) of the full frame buffer.
    fn analyse_frame(&mut self) -> (f64, f64, bool) {
        let n = self.config.frame_size;
        let w = n / 2;
        let x = &self.frame;
        let energy0: f64 = x[..w].iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let rms = (energy0 / w as f64).sqrt();
        if amplitude_to_dbfs(rms) < self.config.silence_dbfs {
            return (0.0, 0.0, false);
        }
        // r(τ) = Σ_{j<W} x_j x_{j+τ} = IFFT(conj(FFT(window)) · FFT(frame)).
        self.fft_in.copy_from_slice(x);
        let ok_frame = self
            .forward
            .process_with_scratch(
                &mut self.fft_in,
                &mut self.spec_frame,
                &mut self.scratch_fwd,
            )
            .is_ok();
        self.fft_in[..w].copy_from_slice(&x[..w]);
        self.fft_in[w..].fill(0.0);
        let ok_window = self
            .forward
            .process_with_scratch(
                &mut self.fft_in,
                &mut self.spec_window,
                &mut self.scratch_fwd,
            )
            .is_ok();
        for (a, b) in self.spec_window.iter_mut().zip(&self.spec_frame) {
            *a = a.conj() * b;
        }
        // The inverse needs purely real DC and Nyquist bins; they are (up to
        // rounding), so zero their imaginary parts.
        if let Some(first) = self.spec_window.first_mut() {
            first.im = 0.0;
        }
        if let Some(last) = self.spec_window.last_mut() {
            last.im = 0.0;
        }
        let ok_inverse = self
            .inverse
            .process_with_scratch(&mut self.spec_window, &mut self.corr, &mut self.scratch_inv)
            .is_ok();
        if !(ok_frame && ok_window && ok_inverse) {
            return (0.0, 0.0, false);
        }
        let scale = 1.0 / n as f64;

        // d(τ) and d'(τ) for τ in 1..=tau_max+1.
        let mut energy_tau = energy0;
        let mut running = 0.0f64;
        self.cmnd[0] = 1.0;
        for tau in 1..=self.tau_max + 1 {
            // e(τ) = Σ_{j<W} x_{j+τ}²: slide by one sample.
            let out = f64::from(x[tau - 1]);
            let inn = f64::from(x[w + tau - 1]);
            energy_tau += inn * inn - out * out;
            let r = f64::from(self.corr[tau]) * scale;
            let d = (energy0 + energy_tau - 2.0 * r).max(0.0);
            running += d;
            self.cmnd[tau] = if running > 0.0 {
                d * tau as f64 / running
            } else {
                1.0
            };
        }

        let thr = self.config.threshold;
        let mut best = None;
        let mut tau = self.tau_min;
        while tau <= self.tau_max {
            if self.cmnd[tau] < thr {
                while tau < self.tau_max && self.cmnd[tau + 1] < self.cmnd[tau] {
                    tau += 1;
                }
                best = Some(tau);
                break;
            }
            tau += 1;
        }
        let voiced = best.is_some();
        let tau = best.unwrap_or_else(|| {
            (self.tau_min..=self.tau_max)
                .min_by(|&a, &b| self.cmnd[a].total_cmp(&self.cmnd[b]))
                .unwrap_or(self.tau_min)
        });
        // Parabolic refinement.
        let (a, b, c) = (self.cmnd[tau - 1], self.cmnd[tau], self.cmnd[tau + 1]);
        let denom = a - 2.0 * b + c;
        let shift = if denom.abs() > 1e-12 {
            (0.5 * (a - c) / denom).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let period = tau as f64 + shift;
        let f0 = f64::from(self.sample_rate) / period;
        (f0, (1.0 - b).clamp(0.0, 1.0), voiced)
    }
}

/// Pitch frames of a whole buffer: the same as streaming it through a fresh
/// [`PitchTracker`].
///
/// # Errors
/// As [`PitchTracker::new`] and [`PitchTracker::process`].
pub fn detect_pitch(
    samples: &[f32],
    sample_rate: u32,
    config: PitchConfig,
) -> Result<Vec<PitchFrame>> {
    let mut tracker = PitchTracker::new(sample_rate, config)?;
    let mut out = Vec::new();
    tracker.process(samples, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::onset::tests::noise;
    use std::f64::consts::TAU;

    const SR: u32 = 44_100;

    fn tone(f0: f64, seconds: f64, partials: usize) -> Vec<f32> {
        (0..(seconds * f64::from(SR)) as usize)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                let v: f64 = (1..=partials)
                    .map(|h| (TAU * f0 * h as f64 * t).sin() / h as f64)
                    .sum();
                (0.3 * v) as f32
            })
            .collect()
    }

    #[test]
    fn finds_the_f0_of_harmonic_tones() {
        for f0 in [46.25, 55.0, 110.0, 261.63, 440.0, 987.77, 2000.0] {
            let x = tone(f0, 0.5, 6);
            let frames = detect_pitch(&x, SR, PitchConfig::for_rate(SR)).unwrap();
            assert!(frames.len() > 20);
            for f in &frames {
                assert!(f.voiced, "{f0}: {f:?}");
                let cents = 1200.0 * (f.f0 / f0).log2();
                assert!(cents.abs() < 10.0, "{f0} Hz: got {} ({cents} cents)", f.f0);
                assert!(f.confidence > 0.9, "{f:?}");
            }
        }
    }

    #[test]
    fn missing_fundamental_is_still_found() {
        // Partials 2..6 of 220 Hz only.
        let x: Vec<f32> = (0..SR as usize / 2)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                (2..=6)
                    .map(|h| 0.1 * (TAU * 220.0 * f64::from(h) * t).sin())
                    .sum::<f64>() as f32
            })
            .collect();
        let frames = detect_pitch(&x, SR, PitchConfig::for_rate(SR)).unwrap();
        for f in &frames {
            assert!((f.f0 - 220.0).abs() < 2.0, "{f:?}");
        }
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let silent = detect_pitch(&[0.0; 20_000], SR, PitchConfig::for_rate(SR)).unwrap();
        assert!(silent
            .iter()
            .all(|f| !f.voiced && f.f0 == 0.0 && f.confidence == 0.0));
        let hiss = noise(40_000, 0.3, 12345);
        let frames = detect_pitch(&hiss, SR, PitchConfig::for_rate(SR)).unwrap();
        let voiced = frames.iter().filter(|f| f.voiced).count();
        assert!(voiced * 10 < frames.len(), "{voiced} of {}", frames.len());
        assert!(frames.iter().all(|f| f.confidence < 0.85));
    }

    #[test]
    fn streaming_equals_batch_and_times() {
        let mut x = tone(330.0, 0.4, 4);
        x.extend(tone(196.0, 0.4, 4));
        let config = PitchConfig::for_rate(SR);
        let batch = detect_pitch(&x, SR, config).unwrap();
        assert_eq!(batch.len(), (x.len() - 2048) / 512 + 1);
        assert_eq!(batch[3].time, (3.0 * 512.0 + 1024.0) / 44_100.0);
        for size in [1, 100, 512, 513, 4096] {
            let mut t = PitchTracker::new(SR, config).unwrap();
            let mut out = Vec::new();
            for c in x.chunks(size) {
                t.process(c, &mut out).unwrap();
            }
            assert_eq!(out, batch, "chunk {size}");
        }
    }

    #[test]
    fn other_rates_and_errors() {
        for sr in [16_000, 22_050, 48_000, 96_000] {
            let c = PitchConfig::for_rate(sr);
            c.validate(sr).unwrap();
            let x: Vec<f32> = (0..sr as usize / 2)
                .map(|i| (0.3 * (TAU * 440.0 * i as f64 / f64::from(sr)).sin()) as f32)
                .collect();
            let frames = detect_pitch(&x, sr, c).unwrap();
            assert!(frames.iter().all(|f| (f.f0 - 440.0).abs() < 2.0), "{sr}");
        }
        let c = PitchConfig::for_rate(SR);
        let err = |c: PitchConfig| PitchTracker::new(SR, c).unwrap_err();
        assert!(matches!(
            err(PitchConfig { fmin: 10.0, ..c }),
            EngineError::BadParameter { name: "fmin", .. }
        ));
        assert!(matches!(
            err(PitchConfig {
                fmax: 30_000.0,
                ..c
            }),
            EngineError::BadParameter { name: "fmax", .. }
        ));
        assert!(matches!(
            err(PitchConfig {
                threshold: 1.5,
                ..c
            }),
            EngineError::BadParameter {
                name: "threshold",
                ..
            }
        ));
        assert!(matches!(
            err(PitchConfig { hop_size: 0, ..c }),
            EngineError::BadHopSize { .. }
        ));
        assert_eq!(
            detect_pitch(&[], SR, c).unwrap_err(),
            EngineError::EmptyInput
        );
        assert_eq!(
            detect_pitch(&[0.0], 5, c).unwrap_err(),
            EngineError::BadSampleRate { sample_rate: 5 }
        );
    }
}
