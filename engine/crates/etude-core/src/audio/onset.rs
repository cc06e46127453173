//! Onset detection by spectral flux, streaming or whole-buffer.
//!
//! # Method
//!
//! 1. The stream is cut into frames of `frame_size` samples every `hop_size`
//!    samples (1024 and 256 by default: 23 ms frames every 5.8 ms at
//!    44.1 kHz): frame `n` covers samples `n·hop .. n·hop + frame_size`, and
//!    its centre, `n·hop + frame_size/2`, is the position reported for an
//!    onset in it (so positions are exact to the hop grid).
//! 2. Each frame is Hann-windowed and transformed with a real FFT (plan and
//!    buffers made once, reused for every frame); magnitudes `|X|` are
//!    normalised so that a full-scale sine peaks near 1.0.
//! 3. Level normalisation, so that neither the playing level nor steady noise
//!    moves the threshold:
//!    * a running level `A`: the mean magnitude of the frame, followed
//!      instantly upwards and released by 20 dB per `level_release` seconds
//!      (never under 10⁻⁴, −80 dB);
//!    * a noise floor `F[k]` per bin: the running minimum of the bin's
//!      power averaged over `floor_smoothing` seconds (its square root),
//!      allowed to rise by `floor_rise` dB per second. The average makes the
//!      floor of steady noise its mean level, not the deepest of its random
//!      dips, so that the gate `ν` can stay small;
//!    * compression against both: `L[k] = ln(1 + |X[k]| / (A/γ + ν·F[k]))`
//!      with `γ = compression` and `ν = noise_gate`. Loud partials are
//!      compared in log scale whatever the gain; bins near the noise floor
//!      (or far under the playing level) count almost nothing.
//! 4. Spectral flux against the frame two hops back, maximum-filtered over
//!    ±1 bin (as in Böck & Widmer's SuperFlux: slow or slightly detuned
//!    partials and noise fluctuations do not rise against a neighbour's
//!    maximum): `flux[n] = mean_k max(0, L[n][k] − max(L[n−2][k−1..=k+1]))`
//!    over the bins up to `max_frequency` (8 kHz: above it a piano adds
//!    little but noise).
//! 5. Peak picking, decided as soon as frame `n` is complete (no look-ahead):
//!    frame `n` is an onset when `flux[n]`
//!    * is at least the flux of every frame of the last `max_window` seconds
//!      (by default one frame: the flux is rising),
//!    * exceeds `threshold_ratio · mean(flux over the past mean_window) + delta`,
//!    * is at least `min_interval` seconds after the previous onset.
//!
//!    The short maximum window lets the second note of a spread chord or an
//!    ornament (30–60 ms after the first) be reported while the first one's
//!    flux is still high; the 400 ms mean keeps the threshold steady.
//!    Frames are judged only once 0.2 s (or `mean_window`, if shorter) of
//!    flux lies behind them, so the start of a stream is never taken for an
//!    onset; until a whole `mean_window` lies behind, the mean covers what
//!    there is. No onset is reported in the first
//!    `frame_size/2 + (1 + ⌈0.2 s/hop⌉)·hop` samples (0.21 s with the
//!    defaults at 44.1 kHz).
//!
//! The defaults were tuned on rendered piano performances (Vienna 4x22
//! pianists other than those of the benchmark; see bench/README.md) and on
//! synthetic tones (see the tests): clean, with white noise at 20 dB SNR,
//! with reverberation, at −20 dB and with a second piano sound.
//!
//! # Streaming
//!
//! [`OnsetDetector`] keeps its own overlap buffer, so feeding a signal in
//! chunks of any sizes yields exactly the onsets found in one call over the
//! whole buffer. An onset at frame `n` is confirmed as soon as frame `n` is
//! complete, i.e. [`OnsetDetector::latency_samples`] (half a frame) after its
//! position. The tail shorter than a frame is not analysed.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{validate_sample_rate, validate_samples};
use crate::error::{EngineError, Result};

/// Smallest accepted frame size, in samples.
pub const MIN_FRAME_SIZE: usize = 64;
/// Largest accepted frame size, in samples.
pub const MAX_FRAME_SIZE: usize = 65_536;
/// Upper bound on the window and interval settings, in seconds.
pub const MAX_WINDOW_SECONDS: f64 = 5.0;

/// Settings of the onset detector. Start from [`OnsetConfig::default`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetConfig {
    /// FFT frame length in samples (even, `MIN_FRAME_SIZE..=MAX_FRAME_SIZE`).
    pub frame_size: usize,
    /// Distance between successive frames in samples (`1..=frame_size`);
    /// onset times are quantised to it.
    pub hop_size: usize,
    /// Gain `γ` in the log compression `ln(1 + |X| / (A/γ + ν·F))` (`A` the
    /// running level): higher values weigh partials far under the playing
    /// level more. Must be > 0.
    pub compression: f32,
    /// Factor `ν` on each bin's running noise floor `F` in the compression.
    /// Must be ≥ 0 (0: no noise gate).
    pub noise_gate: f32,
    /// Seconds for the running level to fall by 20 dB. Must be > 0.
    pub level_release: f64,
    /// How fast each bin's noise floor may rise, dB per second. Must be > 0.
    pub floor_rise: f32,
    /// Time constant, seconds, of the power average each bin's noise floor
    /// follows (0: the floor follows the raw magnitude).
    pub floor_smoothing: f64,
    /// Only bins up to this frequency (Hz, > 0) count in the flux: above it a
    /// piano adds little but broadband noise. Capped at the Nyquist frequency.
    pub max_frequency: f64,
    /// Absolute flux margin above the adaptive threshold. Must be ≥ 0.
    pub delta: f32,
    /// Multiplier on the local mean flux in the adaptive threshold. Must be ≥ 0.
    pub threshold_ratio: f32,
    /// Length of the past window averaged for the adaptive threshold, seconds.
    pub mean_window: f64,
    /// Length of the past window an onset's flux must be the maximum of, seconds.
    pub max_window: f64,
    /// Minimum time between two reported onsets, seconds.
    pub min_interval: f64,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self {
            frame_size: 1024,
            hop_size: 256,
            compression: 10.0,
            noise_gate: 2.0,
            level_release: 3.0,
            floor_rise: 20.0,
            floor_smoothing: 0.05,
            max_frequency: 8_000.0,
            delta: 0.035,
            threshold_ratio: 1.0,
            mean_window: 0.4,
            max_window: 0.005,
            min_interval: 0.03,
        }
    }
}

impl OnsetConfig {
    /// Default settings with the given frame and hop sizes.
    pub fn with_sizes(frame_size: usize, hop_size: usize) -> Self {
        Self {
            frame_size,
            hop_size,
            ..Self::default()
        }
    }

    /// Checks every field; the detector calls this on construction.
    pub fn validate(&self) -> Result<()> {
        let Self {
            frame_size,
            hop_size,
            compression,
            noise_gate,
            level_release,
            floor_rise,
            floor_smoothing,
            max_frequency,
            delta,
            threshold_ratio,
            mean_window,
            max_window,
            min_interval,
        } = *self;
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&frame_size) || frame_size % 2 != 0 {
            return Err(EngineError::BadFrameSize { frame_size });
        }
        if hop_size == 0 || hop_size > frame_size {
            return Err(EngineError::BadHopSize {
                hop_size,
                frame_size,
            });
        }
        let positive = |name, v: f32| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(EngineError::BadParameter {
                    name,
                    value: f64::from(v),
                })
            }
        };
        let non_negative = |name, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(EngineError::BadParameter {
                    name,
                    value: f64::from(v),
                })
            }
        };
        let seconds = |name, v: f64| {
            if v.is_finite() && (0.0..=MAX_WINDOW_SECONDS).contains(&v) {
                Ok(())
            } else {
                Err(EngineError::BadParameter { name, value: v })
            }
        };
        positive("compression", compression)?;
        non_negative("noise_gate", noise_gate)?;
        positive("floor_rise", floor_rise)?;
        if !(max_frequency.is_finite() && max_frequency > 0.0) {
            return Err(EngineError::BadParameter {
                name: "max_frequency",
                value: max_frequency,
            });
        }
        if !(level_release.is_finite() && level_release > 0.0 && level_release <= 600.0) {
            return Err(EngineError::BadParameter {
                name: "level_release",
                value: level_release,
            });
        }
        non_negative("delta", delta)?;
        non_negative("threshold_ratio", threshold_ratio)?;
        seconds("mean_window", mean_window)?;
        seconds("max_window", max_window)?;
        seconds("min_interval", min_interval)?;
        seconds("floor_smoothing", floor_smoothing)?;
        Ok(())
    }
}

/// One detected onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    /// Index of the analysis frame (frame `n` is centred on sample
    /// `n · hop + frame_size / 2`).
    pub frame: u64,
    /// Position in samples since the start of the stream.
    pub sample: u64,
    /// Position in seconds since the start of the stream.
    pub time: f64,
    /// Spectral flux of the onset frame.
    pub strength: f32,
}

/// What one call of [`OnsetDetector::process`] analysed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FluxSummary {
    /// Number of frames completed by this call (0 if the input was shorter
    /// than what the next frame still needed).
    pub frames: usize,
    /// Largest spectral flux among those frames (0.0 when `frames == 0`).
    pub max_flux: f32,
}

/// Streaming spectral-flux onset detector. See the [module docs](self).
pub struct OnsetDetector {
    config: OnsetConfig,
    sample_rate: u32,
    fft: Arc<dyn RealToComplex<f32>>,
    /// Hann window with the magnitude normalisation folded in.
    window: Vec<f32>,
    /// The overlap buffer: the next frame being filled, `frame_size` long.
    frame: Vec<f32>,
    /// How many samples of `frame` are valid.
    fill: usize,
    fft_input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    /// Magnitudes of the current frame, then their log compression.
    log_mag: Vec<f32>,
    /// Max-filtered log magnitudes of the last [`LAG`] frames, indexed by
    /// frame number modulo [`LAG`].
    past_log: [Vec<f32>; LAG],
    /// Each bin's running noise floor.
    floor: Vec<f32>,
    /// Each bin's smoothed power, which the floor follows.
    power: Vec<f32>,
    /// Per-hop weight of the old value in the smoothed power.
    power_keep: f32,
    /// Running level (mean magnitude), see the module docs.
    level: f32,
    /// Per-hop factor of the level's release.
    level_decay: f32,
    /// Per-hop factor of the floor's rise.
    floor_up: f32,
    /// Bins `0..flux_bins` count in the flux.
    flux_bins: usize,
    /// Ring of recent flux values, indexed by frame number modulo its length.
    history: Vec<f32>,
    /// Sum of the flux of the `mean_frames` frames before the next one
    /// (a running sum: f64, so that its rounding stays far under the flux).
    window_sum: f64,
    mean_frames: usize,
    /// Frames `0..=warm_up_frames` are never onsets.
    warm_up_frames: u64,
    max_frames: usize,
    min_interval_frames: u64,
    /// Frames analysed since the start (or the last reset).
    frames: u64,
    last_onset: Option<u64>,
}

impl std::fmt::Debug for OnsetDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnsetDetector")
            .field("config", &self.config)
            .field("sample_rate", &self.sample_rate)
            .field("frames", &self.frames)
            .field("last_onset", &self.last_onset)
            .finish_non_exhaustive()
    }
}

/// Frames between the two spectra the flux compares.
const LAG: usize = 2;
/// Longest stretch at the start of a stream where no onset is reported,
/// seconds (shorter if `mean_window` is): the adaptive threshold needs some
/// past first.
const WARM_UP_SECONDS: f64 = 0.2;
/// Lowest running level (mean normalised magnitude, −80 dB).
const LEVEL_FLOOR: f32 = 1e-4;

/// Whole frames covering `seconds` at the given rate and hop, rounded up.
fn seconds_to_frames(seconds: f64, sample_rate: u32, hop: usize) -> usize {
    // Bounded by MAX_WINDOW_SECONDS * MAX_SAMPLE_RATE, so the cast is exact.
    (seconds * f64::from(sample_rate) / hop as f64).ceil() as usize
}

impl OnsetDetector {
    /// Makes a detector for a stream at `sample_rate` Hz.
    ///
    /// # Errors
    /// [`EngineError::BadSampleRate`], [`EngineError::BadFrameSize`],
    /// [`EngineError::BadHopSize`] or [`EngineError::BadParameter`].
    pub fn new(sample_rate: u32, config: OnsetConfig) -> Result<Self> {
        let sample_rate = validate_sample_rate(u64::from(sample_rate))?;
        config.validate()?;
        let n = config.frame_size;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);

        let hann: Vec<f64> = (0..n)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos())
            .collect();
        let sum: f64 = hann.iter().sum();
        // |X[k]| of a sine of amplitude A is about A·sum(w)/2 at its peak bin.
        let gain = 2.0 / sum;
        let window = hann.iter().map(|w| (w * gain) as f32).collect();

        let hop_seconds = config.hop_size as f64 / f64::from(sample_rate);
        let mean_frames = seconds_to_frames(config.mean_window, sample_rate, config.hop_size);
        let max_frames = seconds_to_frames(config.max_window, sample_rate, config.hop_size);
        let min_interval_frames =
            seconds_to_frames(config.min_interval, sample_rate, config.hop_size) as u64;
        let mut detector = Self {
            config,
            sample_rate,
            fft_input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            log_mag: vec![0.0; n / 2 + 1],
            past_log: [vec![0.0; n / 2 + 1], vec![0.0; n / 2 + 1]],
            floor: vec![0.0; n / 2 + 1],
            power: vec![0.0; n / 2 + 1],
            power_keep: if config.floor_smoothing > 0.0 {
                (-hop_seconds / config.floor_smoothing).exp() as f32
            } else {
                0.0
            },
            level: LEVEL_FLOOR,
            level_decay: 10f64.powf(-hop_seconds / config.level_release) as f32,
            flux_bins: ((config.max_frequency * n as f64 / f64::from(sample_rate)).floor()
                as usize)
                .clamp(2, n / 2 + 1),
            floor_up: 10f64.powf(f64::from(config.floor_rise) / 20.0 * hop_seconds) as f32,
            fft,
            window,
            frame: vec![0.0; n],
            fill: 0,
            // The candidate and the longer past window.
            history: vec![0.0; mean_frames.max(max_frames) + 2],
            mean_frames,
            warm_up_frames: mean_frames
                .min(seconds_to_frames(
                    WARM_UP_SECONDS,
                    sample_rate,
                    config.hop_size,
                ))
                .max(LAG) as u64,
            max_frames,
            min_interval_frames,
            frames: 0,
            last_onset: None,
            window_sum: 0.0,
        };
        detector.reset();
        Ok(detector)
    }

    /// Forgets the stream: the next sample is sample 0 again. Keeps the FFT
    /// plan and buffers.
    pub fn reset(&mut self) {
        self.frame.fill(0.0);
        self.fill = 0;
        self.log_mag.fill(0.0);
        for p in &mut self.past_log {
            p.fill(0.0);
        }
        self.floor.fill(0.0);
        self.power.fill(0.0);
        self.level = LEVEL_FLOOR;
        self.history.fill(0.0);
        self.frames = 0;
        self.last_onset = None;
        self.window_sum = 0.0;
    }

    /// The settings in use.
    pub fn config(&self) -> &OnsetConfig {
        &self.config
    }

    /// The stream's sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Frames analysed since the start or the last [`reset`](Self::reset).
    pub fn frames_analysed(&self) -> u64 {
        self.frames
    }

    /// Delay, in samples, between an onset's position and the moment it is
    /// reported: half a frame (to complete its frame; there is no look-ahead).
    pub fn latency_samples(&self) -> usize {
        self.config.frame_size / 2
    }

    /// Feeds the next chunk of the stream (any length ≥ 1) and appends the
    /// onsets it confirms to `onsets`, in time order.
    ///
    /// On error nothing is consumed and the detector is unchanged.
    ///
    /// # Errors
    /// [`EngineError::EmptyInput`] or [`EngineError::NonFinite`].
    pub fn process(&mut self, chunk: &[f32], onsets: &mut Vec<Onset>) -> Result<FluxSummary> {
        validate_samples(chunk)?;
        Ok(self.process_unchecked(chunk, onsets))
    }

    /// [`process`](Self::process) for input already known to be finite.
    pub(crate) fn process_unchecked(
        &mut self,
        mut chunk: &[f32],
        onsets: &mut Vec<Onset>,
    ) -> FluxSummary {
        let n = self.config.frame_size;
        let hop = self.config.hop_size;
        let mut summary = FluxSummary::default();
        while !chunk.is_empty() {
            let take = (n - self.fill).min(chunk.len());
            let (head, rest) = chunk.split_at(take);
            self.frame[self.fill..self.fill + take].copy_from_slice(head);
            self.fill += take;
            chunk = rest;
            if self.fill < n {
                break;
            }
            let flux = self.analyse_frame();
            self.frame.copy_within(hop.., 0);
            self.fill = n - hop;

            summary.frames += 1;
            summary.max_flux = summary.max_flux.max(flux);
            let index = self.frames;
            let slot = self.slot(index);
            self.history[slot] = flux;
            self.frames += 1;
            if let Some(onset) = self.pick(index) {
                onsets.push(onset);
            }
            // Slide the threshold's window over frame `index`. The ring is
            // longer than the window, so the frame leaving it is still there
            // (0 before the start, as the ring was cleared).
            let leaving = index.wrapping_sub(self.mean_frames as u64);
            let old = if index >= self.mean_frames as u64 {
                self.history[self.slot(leaving)]
            } else {
                0.0
            };
            self.window_sum += f64::from(flux) - f64::from(old);
        }
        summary
    }

    #[inline]
    fn slot(&self, frame: u64) -> usize {
        // history is never empty (len ≥ 2) and its length fits in u64.
        (frame % self.history.len() as u64) as usize
    }

    /// Windows the full overlap buffer, transforms it and returns its flux
    /// (0 for the first frame, which has no predecessor).
    fn analyse_frame(&mut self) -> f32 {
        for ((dst, &x), &w) in self.fft_input.iter_mut().zip(&self.frame).zip(&self.window) {
            *dst = x * w;
        }
        // Lengths come from the plan itself, so this cannot fail; a zero flux
        // is the harmless fallback should it ever.
        if self
            .fft
            .process_with_scratch(
                &mut self.fft_input,
                &mut self.spectrum,
                &mut self.fft_scratch,
            )
            .is_err()
        {
            return 0.0;
        }
        let bins = self.log_mag.len();
        for (m, c) in self.log_mag.iter_mut().zip(&self.spectrum) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
        let total = lane_sum(&self.log_mag);
        let first = self.frames == 0;
        self.level = (total / bins as f32)
            .max(self.level * self.level_decay)
            .max(LEVEL_FLOOR);
        let base = self.level / self.config.compression;
        let gate = self.config.noise_gate;
        let used = self.flux_bins;
        // Only the flux bins and the one above them (for the maximum filter)
        // are compressed: the rest only count in the level.
        let kept = (used + 1).min(bins);
        self.update_floor(kept, first);
        for (m, &f) in self.log_mag[..kept].iter_mut().zip(&self.floor[..kept]) {
            *m = ln_1p_fast(*m / (base + gate * f));
        }
        // Flux against the max-filtered spectrum LAG frames back, then store
        // this frame's max-filtered spectrum in its place.
        let slot = (self.frames % LAG as u64) as usize;
        let past = &mut self.past_log[slot];
        let mut rise = 0.0f32;
        for (&l, &p) in self.log_mag[..used].iter().zip(&past[..used]) {
            rise += (l - p).max(0.0);
        }
        let l = &self.log_mag;
        for (k, p) in past[..used].iter_mut().enumerate() {
            let lo = k.saturating_sub(1);
            let hi = (k + 1).min(kept - 1);
            *p = l[lo].max(l[k]).max(l[hi]);
        }
        if self.frames < LAG as u64 {
            return 0.0;
        }
        rise / used as f32
    }

    /// Updates the smoothed power and the noise floor of bins `0..kept` from
    /// the magnitudes in `log_mag` (the first frame sets both).
    fn update_floor(&mut self, kept: usize, first: bool) {
        let mags = &self.log_mag[..kept];
        let power = &mut self.power[..kept];
        let floor = &mut self.floor[..kept];
        if first {
            for ((p, f), &m) in power.iter_mut().zip(floor.iter_mut()).zip(mags) {
                *p = m * m;
                *f = m;
            }
            return;
        }
        let keep = self.power_keep;
        let up = self.floor_up;
        // Branch-free, so that it vectorises.
        for ((p, f), &m) in power.iter_mut().zip(floor.iter_mut()).zip(mags) {
            *p = keep * *p + (1.0 - keep) * m * m;
            *f = p.sqrt().min((*f * up).max(1e-9));
        }
    }

    /// Decides whether frame `n`, just analysed, is an onset.
    fn pick(&mut self, n: u64) -> Option<Onset> {
        // Warm-up: judge only frames with a full past window of real flux
        // values (frame 0 has none).
        if n <= self.warm_up_frames {
            return None;
        }
        let flux = self.history[self.slot(n)];
        let past_max = (self.max_frames as u64).min(n);
        if (1..=past_max).any(|k| self.history[self.slot(n - k)] > flux) {
            return None;
        }
        // Until a whole window lies behind, the mean covers the frames that
        // have a flux (the first LAG have none).
        let count = (self.mean_frames as u64).min(n - LAG as u64);
        let mean = if count == 0 {
            0.0
        } else {
            (self.window_sum / count as f64) as f32
        };
        if flux <= self.config.threshold_ratio * mean + self.config.delta {
            return None;
        }
        if let Some(last) = self.last_onset {
            if n - last < self.min_interval_frames {
                return None;
            }
        }
        self.last_onset = Some(n);
        let sample = n * self.config.hop_size as u64 + self.config.frame_size as u64 / 2;
        Some(Onset {
            frame: n,
            sample,
            time: sample as f64 / f64::from(self.sample_rate),
            strength: flux,
        })
    }
}

/// Sum of `xs` in eight interleaved lanes (so that it vectorises; the
/// order is fixed, so the result is the same on every call).
pub(crate) fn lane_sum(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &x in chunks.remainder() {
        total += x;
    }
    total
}

/// `ln(1 + x)` for `x ≥ 0` (finite), branch-free so that loops over it
/// vectorise: Cephes' `logf` polynomial on `1 + x`, absolute error under
/// 3e-7 (`f32::ln_1p` is a libm call per value, the onset detector's
/// largest cost before).
#[inline]
#[allow(clippy::excessive_precision)] // Cephes' coefficients as published
pub(crate) fn ln_1p_fast(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let y = 1.0 + x;
    let bits = y.to_bits();
    // y ≥ 1: a normal, positive float. Mantissa in [0.5, 1), exponent e.
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < SQRT_HALF;
    e -= i32::from(small);
    let m = if small { m + m - 1.0 } else { m - 1.0 };
    let z = m * m;
    let mut p = 7.037_683_6e-2_f32;
    p = p * m - 1.151_461_03e-1;
    p = p * m + 1.167_699_87e-1;
    p = p * m - 1.242_014_08e-1;
    p = p * m + 1.424_932_28e-1;
    p = p * m - 1.666_805_77e-1;
    p = p * m + 2.000_071_48e-1;
    p = p * m - 2.499_999_4e-1;
    p = p * m + 3.333_333_1e-1;
    let ef = e as f32;
    let mut r = m * z * p;
    r += -2.121_944_4e-4 * ef;
    r -= 0.5 * z;
    (m + r) + 0.693_359_375 * ef
}

/// Onsets of a whole buffer: the same as streaming it through a fresh
/// [`OnsetDetector`] in any chunking.
///
/// # Errors
/// As [`OnsetDetector::new`] and [`OnsetDetector::process`].
pub fn detect_onsets(samples: &[f32], sample_rate: u32, config: OnsetConfig) -> Result<Vec<Onset>> {
    let mut detector = OnsetDetector::new(sample_rate, config)?;
    let mut onsets = Vec::new();
    detector.process(samples, &mut onsets)?;
    Ok(onsets)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::f64::consts::TAU;

    /// Deterministic noise in [-1, 1) (xorshift), so tests need no RNG crate.
    pub(crate) fn noise(n: usize, amplitude: f32, mut seed: u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                amplitude * ((seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
            })
            .collect()
    }

    /// Decaying piano-like tone bursts (fundamental + 3 partials, 3 ms attack,
    /// ~0.1 s decay) at `times` seconds, in a buffer of `seconds` seconds.
    pub(crate) fn bursts(sr: u32, seconds: f64, times: &[f64], freqs: &[f64]) -> Vec<f32> {
        let n = (seconds * f64::from(sr)) as usize;
        let mut out = vec![0.0f32; n];
        for (i, &t0) in times.iter().enumerate() {
            let f0 = freqs[i % freqs.len()];
            let start = (t0 * f64::from(sr)).round() as usize;
            for (j, y) in out[start..].iter_mut().enumerate() {
                let t = j as f64 / f64::from(sr);
                let env = (t / 0.003).min(1.0) * (-t / 0.1).exp();
                if t > 0.003 && env < 1e-6 {
                    break;
                }
                let tone: f64 = (1..=4)
                    .map(|h| (TAU * f0 * h as f64 * t).sin() / h as f64)
                    .sum();
                *y += (0.3 * env * tone) as f32;
            }
        }
        out
    }

    pub(crate) const SR: u32 = 44_100;

    /// 0.5 s apart, between 1 s of leading and ~1 s of trailing silence.
    pub(crate) fn test_signal() -> (Vec<f32>, Vec<f64>) {
        let times: Vec<f64> = (0..8).map(|i| 1.0 + 0.5 * f64::from(i)).collect();
        let freqs = [261.63, 329.63, 392.0, 523.25, 440.0, 196.0, 880.0, 293.66];
        (bursts(SR, 5.5, &times, &freqs), times)
    }

    /// Each true onset found once, within `tol` samples.
    fn assert_matches(found: &[Onset], truth: &[f64], tol: usize) {
        let tol = tol as f64 / f64::from(SR);
        assert_eq!(
            found.len(),
            truth.len(),
            "found {:?}, want {truth:?}",
            found.iter().map(|o| o.time).collect::<Vec<_>>()
        );
        for (o, &t) in found.iter().zip(truth) {
            assert!(
                (o.time - t).abs() <= tol,
                "onset at {} s, true {t} s (tolerance {tol})",
                o.time
            );
        }
    }

    #[test]
    fn finds_bursts_within_one_hop() {
        let (signal, truth) = test_signal();
        let onsets = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        assert_matches(&onsets, &truth, 512);
        for o in &onsets {
            assert_eq!(o.sample, o.frame * 256 + 512);
            assert!(o.strength > 0.0);
        }
    }

    #[test]
    fn other_frame_and_hop_sizes() {
        let (signal, truth) = test_signal();
        // With a log spectrum the flux peaks once the attack is a little past
        // the frame centre (after digital silence, as soon as it enters the
        // window): a bias that grows with the frame, on top of the hop's
        // quantisation. (For the defaults it stays within one hop, as tested
        // above.)
        for (frame, hop) in [
            (2048, 512),
            (512, 256),
            (1024, 256),
            (1024, 1024),
            (1024, 441),
            (4096, 1024),
            (2048, 1024),
        ] {
            let onsets = detect_onsets(&signal, SR, OnsetConfig::with_sizes(frame, hop)).unwrap();
            assert_matches(&onsets, &truth, hop + frame / 4);
        }
    }

    #[test]
    fn pure_sine_bursts_at_48k() {
        let sr = 48_000;
        let times = [0.3, 0.8, 1.3, 1.8];
        let n = (2.4 * f64::from(sr)) as usize;
        let mut signal = vec![0.0f32; n];
        for &t0 in &times {
            let start = (t0 * f64::from(sr)) as usize;
            for (j, y) in signal[start..].iter_mut().enumerate() {
                let t = j as f64 / f64::from(sr);
                *y += (0.05 * (-t / 0.15).exp() * (TAU * 440.0 * t).sin()) as f32;
            }
        }
        let onsets = detect_onsets(&signal, sr, OnsetConfig::default()).unwrap();
        let got: Vec<f64> = onsets.iter().map(|o| o.time).collect();
        assert_eq!(got.len(), times.len(), "{got:?}");
        for (g, t) in got.iter().zip(times) {
            assert!((g - t).abs() <= 512.0 / f64::from(sr), "{got:?}");
        }
    }

    /// Uniform white noise with the given RMS level.
    fn hiss(n: usize, rms_dbfs: f32, seed: u64) -> Vec<f32> {
        noise(n, 10f32.powf(rms_dbfs / 20.0) * 3f32.sqrt(), seed)
    }

    #[test]
    fn nothing_in_silence_or_steady_noise() {
        let silence = vec![0.0f32; SR as usize * 3];
        assert!(detect_onsets(&silence, SR, OnsetConfig::default())
            .unwrap()
            .is_empty());
        for db in [-90.0, -60.0, -40.0, -20.0] {
            let x = hiss(SR as usize * 10, db, 0x9E37_79B9_7F4A_7C15);
            let found = detect_onsets(&x, SR, OnsetConfig::default()).unwrap();
            assert!(found.is_empty(), "{db} dBFS noise: {found:?}");
        }
    }

    #[test]
    fn noise_floor_is_the_mean_noise_level() {
        // In steady white noise the floor follows the bins' RMS magnitude
        // (σ·‖w‖); the floor of the raw magnitudes follows their deepest dips.
        let x = hiss(SR as usize * 3, -30.0, 0x1234_5678);
        let floor_db = |floor_smoothing| {
            let config = OnsetConfig {
                floor_smoothing,
                ..OnsetConfig::default()
            };
            let mut d = OnsetDetector::new(SR, config).unwrap();
            d.process(&x, &mut Vec::new()).unwrap();
            let norm = d.window.iter().map(|w| w * w).sum::<f32>().sqrt();
            let rms = 10f32.powf(-30.0 / 20.0) * norm;
            let bins = &d.floor[10..d.flux_bins];
            let mean = bins.iter().sum::<f32>() / bins.len() as f32;
            20.0 * (mean / rms).log10()
        };
        let smoothed = floor_db(OnsetConfig::default().floor_smoothing);
        assert!((-3.0..1.0).contains(&smoothed), "{smoothed} dB");
        let raw = floor_db(0.0);
        assert!(raw < -10.0, "{raw} dB");
    }

    #[test]
    fn nothing_in_tremolo() {
        // A held tone whose level swings by ±25 % (depth 0.5) at 2 and 8 Hz,
        // or by ±45 % at 3 Hz: one onset, at its start, past the warm-up.
        for (depth, rate) in [(0.5, 2.0), (0.5, 8.0), (0.9, 3.0)] {
            let x: Vec<f32> = (0..SR as usize * 4)
                .map(|i| {
                    let t = i as f64 / f64::from(SR);
                    let env = if t < 0.5 {
                        0.0
                    } else {
                        (-(t - 0.5) / 2.0).exp()
                            * (1.0 - depth * 0.5 * (1.0 - (TAU * rate * t).cos()))
                    };
                    let tone: f64 = (1..=4)
                        .map(|h| (TAU * 261.63 * f64::from(h) * t).sin() / f64::from(h))
                        .sum();
                    (0.3 * env * tone) as f32
                })
                .collect();
            let found = detect_onsets(&x, SR, OnsetConfig::default()).unwrap();
            assert_eq!(found.len(), 1, "depth {depth} at {rate} Hz: {found:?}");
            assert!((found[0].time - 0.5).abs() < 512.0 / f64::from(SR));
        }
    }

    #[test]
    fn quiet_notes_over_noise() {
        let (signal, truth) = test_signal();
        for (gain, noise_db, peak_max) in [(0.1, -60.0, -26.0), (0.03, -70.0, -36.0)] {
            let floor = hiss(signal.len(), noise_db, 0xDEAD_BEEF);
            let x: Vec<f32> = signal
                .iter()
                .zip(floor)
                .map(|(s, n)| s * gain + n)
                .collect();
            let peak = crate::levels(&x).unwrap().peak_dbfs;
            assert!(peak < peak_max, "{peak}");
            let onsets = detect_onsets(&x, SR, OnsetConfig::default()).unwrap();
            assert_matches(&onsets, &truth, 512);
        }
    }

    #[test]
    fn no_onset_during_warm_up() {
        // A note at 50 ms is inside the first 0.21 s: not reported.
        let x = bursts(SR, 1.0, &[0.05, 0.5], &[440.0]);
        let found = detect_onsets(&x, SR, OnsetConfig::default()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!((found[0].time - 0.5).abs() < 0.012);
    }

    #[test]
    fn bursts_over_noise() {
        let (mut signal, truth) = test_signal();
        for (y, n) in signal
            .iter_mut()
            .zip(hiss(SR as usize * 6, -50.0, 0xDEAD_BEEF))
        {
            *y += n;
        }
        let onsets = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        assert_matches(&onsets, &truth, 512);
    }

    #[test]
    fn streaming_equals_batch() {
        let (signal, _) = test_signal();
        let batch = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        for size in [1, 7, 256, 511, 512, 513, 1000, 1024, 4099] {
            let mut d = OnsetDetector::new(SR, OnsetConfig::default()).unwrap();
            let mut streamed = Vec::new();
            for chunk in signal.chunks(size) {
                d.process(chunk, &mut streamed).unwrap();
            }
            assert_eq!(streamed, batch, "chunk size {size}");
        }
        // Irregular chunk sizes too.
        let mut d = OnsetDetector::new(SR, OnsetConfig::default()).unwrap();
        let mut streamed = Vec::new();
        let mut rest = &signal[..];
        let mut sizes = [300, 1, 2047, 512, 999, 64].into_iter().cycle();
        while !rest.is_empty() {
            let (a, b) = rest.split_at(sizes.next().unwrap().min(rest.len()));
            d.process(a, &mut streamed).unwrap();
            rest = b;
        }
        assert_eq!(streamed, batch);
    }

    #[test]
    fn reset_restarts_the_stream() {
        let (signal, _) = test_signal();
        let mut d = OnsetDetector::new(SR, OnsetConfig::default()).unwrap();
        let mut first = Vec::new();
        d.process(&signal, &mut first).unwrap();
        d.reset();
        assert_eq!(d.frames_analysed(), 0);
        let mut second = Vec::new();
        d.process(&signal, &mut second).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn latency_is_half_a_frame() {
        let sr = SR;
        let mut signal = vec![0.0f32; sr as usize];
        signal.extend(bursts(sr, 1.0, &[0.0], &[440.0]));
        let mut d = OnsetDetector::new(sr, OnsetConfig::default()).unwrap();
        let mut onsets = Vec::new();
        let mut reported_at = None;
        for (i, chunk) in signal.chunks(1).enumerate() {
            d.process(chunk, &mut onsets).unwrap();
            if !onsets.is_empty() {
                reported_at = Some(i + 1);
                break;
            }
        }
        let at = reported_at.expect("no onset");
        assert_eq!(at as u64, onsets[0].sample + d.latency_samples() as u64);
    }

    #[test]
    fn min_interval_suppresses_close_onsets() {
        // Two bursts 20 ms apart: the second is dropped by the minimum
        // interval (30 ms, rounded up to whole hops: 6 hops, 35 ms).
        let signal = bursts(SR, 1.4, &[0.5, 0.52, 1.0], &[440.0, 660.0, 220.0]);
        let onsets = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        assert_eq!(onsets.len(), 2, "{onsets:?}");
        let loose = OnsetConfig {
            min_interval: 0.01,
            ..OnsetConfig::default()
        };
        let found = detect_onsets(&signal, SR, loose).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn rolled_notes_40_ms_apart_are_both_found() {
        // A spread chord: the second note starts while the first one's flux
        // is still high, but it rises again, past the minimum interval.
        let truth = [0.5, 0.54, 1.0];
        let signal = bursts(SR, 1.4, &truth, &[440.0, 660.0, 220.0]);
        let onsets = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        assert_matches(&onsets, &truth, 512);
    }

    #[test]
    fn fast_ln_1p_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = 0.0f32;
        while x < 1e6 {
            let err = (f64::from(ln_1p_fast(x)) - f64::from(x).ln_1p()).abs();
            worst = worst.max(err / f64::from(x).ln_1p().max(1.0));
            x = if x < 1e-6 { x + 1e-8 } else { x * 1.001 + 1e-7 };
        }
        assert!(worst < 3e-7, "{worst}");
        assert_eq!(ln_1p_fast(0.0), 0.0);
    }

    #[test]
    fn lane_sum_is_the_sum() {
        let xs: Vec<f32> = (0..515).map(|i| (i % 7) as f32 * 0.25).collect();
        let exact: f64 = xs.iter().map(|&x| f64::from(x)).sum();
        assert!((f64::from(lane_sum(&xs)) - exact).abs() < 1e-3);
        assert_eq!(lane_sum(&[]), 0.0);
        assert_eq!(lane_sum(&[1.5, 2.0]), 3.5);
    }

    #[test]
    fn config_errors() {
        let bad = |c: OnsetConfig| OnsetDetector::new(SR, c).unwrap_err();
        let d = OnsetConfig::default();
        assert_eq!(
            bad(OnsetConfig::with_sizes(1000 + 1, 512)),
            EngineError::BadFrameSize { frame_size: 1001 }
        );
        assert_eq!(
            bad(OnsetConfig::with_sizes(32, 16)),
            EngineError::BadFrameSize { frame_size: 32 }
        );
        assert_eq!(
            bad(OnsetConfig::with_sizes(1 << 20, 512)),
            EngineError::BadFrameSize {
                frame_size: 1 << 20
            }
        );
        assert_eq!(
            bad(OnsetConfig::with_sizes(1024, 0)),
            EngineError::BadHopSize {
                hop_size: 0,
                frame_size: 1024
            }
        );
        assert_eq!(
            bad(OnsetConfig::with_sizes(1024, 2048)),
            EngineError::BadHopSize {
                hop_size: 2048,
                frame_size: 1024
            }
        );
        assert!(matches!(
            bad(OnsetConfig {
                compression: 0.0,
                ..d
            }),
            EngineError::BadParameter {
                name: "compression",
                ..
            }
        ));
        assert!(matches!(
            bad(OnsetConfig {
                delta: f32::NAN,
                ..d
            }),
            EngineError::BadParameter { name: "delta", .. }
        ));
        assert!(matches!(
            bad(OnsetConfig {
                mean_window: 60.0,
                ..d
            }),
            EngineError::BadParameter {
                name: "mean_window",
                ..
            }
        ));
        assert_eq!(
            OnsetDetector::new(10, d).unwrap_err(),
            EngineError::BadSampleRate { sample_rate: 10 }
        );
        assert_eq!(
            detect_onsets(&[0.0; 10], 0, d).unwrap_err(),
            EngineError::BadSampleRate { sample_rate: 0 }
        );
    }

    #[test]
    fn input_errors_leave_the_detector_untouched() {
        let (signal, _) = test_signal();
        let batch = detect_onsets(&signal, SR, OnsetConfig::default()).unwrap();
        let mut d = OnsetDetector::new(SR, OnsetConfig::default()).unwrap();
        let mut out = Vec::new();
        let (a, b) = signal.split_at(signal.len() / 3);
        d.process(a, &mut out).unwrap();
        assert_eq!(d.process(&[], &mut out), Err(EngineError::EmptyInput));
        assert!(matches!(
            d.process(&[0.0, 0.1, f32::INFINITY], &mut out),
            Err(EngineError::NonFinite { index: 2, .. })
        ));
        assert!(matches!(
            d.process(&[f32::NAN], &mut out),
            Err(EngineError::NonFinite { index: 0, .. })
        ));
        d.process(b, &mut out).unwrap();
        assert_eq!(out, batch);
        assert_eq!(
            detect_onsets(&[], SR, OnsetConfig::default()),
            Err(EngineError::EmptyInput)
        );
    }
}
