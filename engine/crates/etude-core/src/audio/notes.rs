//! Polyphonic note detection at onsets, note dynamics and the score-informed
//! check of expected pitches.
//!
//! # Method
//!
//! Piano notes start with an onset, so notes are looked for only there (the
//! onsets come from [`onset`](super::onset)). For an onset at sample `s`:
//!
//! 1. Two Hann-windowed magnitude spectra of `frame_size` samples (~46 ms):
//!    *before*, ending `before_gap` samples before `s`, and *after*, starting
//!    `delay` samples after `s` (past the attack, whose broadband noise
//!    would otherwise read as spurious notes). The *new* sound is the rectified difference
//!    `R = max(0, after − before)`: notes still ringing and steady room
//!    noise cancel out, repeated notes count only by what they add.
//! 2. Which pitches start: by default ([`NoteMethod::Learned`]) the learned
//!    model of [`note_model`](super::note_model) gives each of the 88 keys a
//!    probability from the semitone bands of *after* and `R`; a key is a note
//!    when it reaches `note_threshold` (at most `max_polyphony`, most
//!    probable first), and its level comes from subtracting its partials as
//!    in step 3. [`NoteMethod::HarmonicSum`], the untrained method, is
//!    steps 2'–3:
//!
//! 2'. Harmonic-sum salience of each piano pitch on `R`: the sum over its
//!    partials (`h·f0·√(1 + B·h²)`, slightly stretched as a piano's are) of
//!    the largest magnitude within ±`tolerance` of the partial, weighted by
//!    `(f0 + 52) / (h·f0 + 320)` (Klapuri, 2006).
//! 3. Iterative estimation: take the most salient pitch, subtract its
//!    partials from `R` (each partial by at most the mean of its neighbours,
//!    so that an octave or a fifth above keeps its share of shared partials),
//!    and repeat until the best salience falls under `relative_threshold` ×
//!    the first one, or under `floor_ratio` × the median salience of all
//!    pitches, or `max_polyphony` notes are found.
//! 4. A note's level is the amplitude of what was subtracted for it, in dBFS;
//!    its velocity estimate maps 40 dB to the 1..=127 range (a velocity-`v`
//!    note is `40·log10(v/127)` dB below a velocity-127 one at
//!    `reference_dbfs`).
//! 5. Offsets: every `check_interval` samples the partials of each sounding
//!    note are measured again; a note ends when they fall `release_db` below
//!    its onset level, when the same pitch starts again, or after
//!    `max_duration`.
//!
//! The score-informed check reports, for each expected pitch, whether it
//! sounded and a confidence that is 0.5 at the decision threshold: learned
//! model, a logistic regression on the note model's logits (the pitch's
//! own, and by how much its ±1 and ±2 semitone neighbours' and the other
//! expected pitches' within 2 semitones exceed it; trained by
//! `engine/tools/train_check_model.py`) whose probability must reach
//! `expected_threshold`, confidence the odds ratio to that threshold;
//! harmonic sum, step 3 with the expected pitches'
//! thresholds lowered by `prior`, confidence `s / (s + threshold)`.
//!
//! Notes of an onset are reported when its *after* frame is complete:
//! `frame_size + delay` samples after the onset (93 ms at 44.1 kHz).

use std::collections::VecDeque;

use super::check_weights::{BIAS as CHECK_BIAS, LOGIT_CLIP, WEIGHTS as CHECK_WEIGHTS};
use super::frames::{midi_to_hz, SampleRing, Spectrum};
use super::levels::amplitude_to_dbfs;
use super::note_model::{NoteNet, PITCHES};
use super::onset::{Onset, MAX_FRAME_SIZE, MIN_FRAME_SIZE};
use super::{validate_sample_rate, validate_samples};
use crate::error::{EngineError, Result};

/// Lowest MIDI pitch analysed by default (A0).
pub const PIANO_LOWEST: u8 = 21;
/// Highest MIDI pitch analysed by default (C8).
pub const PIANO_HIGHEST: u8 = 108;

/// How the pitches starting at an onset are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteMethod {
    /// The learned model of [`note_model`](super::note_model) (the default:
    /// note F 0.80–0.85 against 0.63–0.66 on the bench's performances).
    #[default]
    Learned,
    /// The generic harmonic sum with iterative subtraction (steps 2–3 of the
    /// module's method): nothing learned, kept for comparison.
    HarmonicSum,
}

/// Settings of note detection. Start from [`NoteConfig::for_rate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteConfig {
    /// Learned model or harmonic sum.
    pub method: NoteMethod,
    /// Learned model: a pitch is a note when its probability reaches this.
    pub note_threshold: f64,
    /// Learned model: a note must be at most this many dB under the onset's
    /// loudest note (fainter ones are mostly partials read as notes).
    pub chord_range_db: f64,
    /// Learned model, score-informed check: an expected pitch sounded when
    /// the check model's probability (see
    /// [`check_weights`](super::check_weights)) reaches this; 0.5 is the
    /// trained decision.
    pub expected_threshold: f64,
    /// Spectrum frame, samples (even, `MIN_FRAME_SIZE..=MAX_FRAME_SIZE`).
    pub frame_size: usize,
    /// The *after* frame starts this many samples after the onset (past the
    /// attack's broadband noise, which otherwise reads as spurious high notes).
    pub delay: usize,
    /// The *before* frame ends this many samples before the onset.
    pub before_gap: usize,
    /// Lowest and highest MIDI pitch considered.
    pub lowest_pitch: u8,
    /// See `lowest_pitch`.
    pub highest_pitch: u8,
    /// Most notes reported per onset.
    pub max_polyphony: usize,
    /// Most partials summed per pitch.
    pub harmonics: usize,
    /// Relative half-width of the window searched for each partial.
    pub tolerance: f64,
    /// Inharmonicity coefficient `B` of the partials' stretch.
    pub inharmonicity: f64,
    /// Harmonic sum: a note must reach this fraction of the onset's
    /// strongest note's salience.
    pub relative_threshold: f64,
    /// ... and this multiple of the median salience of all pitches.
    pub floor_ratio: f64,
    /// Harmonic sum: factor (0 < prior ≤ 1) on both thresholds for expected
    /// pitches in the score-informed check.
    pub prior: f64,
    /// Level, dBFS, of a velocity-127 note.
    pub reference_dbfs: f64,
    /// A note must be at most this many dB under the RMS of its after frame.
    pub min_level_db: f64,
    /// A pitch's fundamental must reach this fraction of its strongest partial.
    pub min_fundamental: f64,
    /// A note ends when its partials fall this many dB under its onset level.
    pub release_db: f64,
    /// A note ends at the latest this long after its onset, seconds.
    pub max_duration: f64,
    /// Samples between offset checks.
    pub check_interval: usize,
}

impl NoteConfig {
    /// Defaults for a sample rate: a ~70 ms frame (3072 samples at 44.1 kHz,
    /// a multiple of 256) starting a third of it after the onset, so that
    /// notes are known 93 ms after their onset; the piano's 88 keys, up to 8
    /// notes per onset.
    pub fn for_rate(sample_rate: u32) -> Self {
        let frames = (0.0697 * f64::from(sample_rate) / 256.0).round().max(1.0);
        Self::with_frame(((frames as usize) * 256).clamp(MIN_FRAME_SIZE, MAX_FRAME_SIZE))
    }

    /// The defaults with another frame size (longer frames resolve low notes
    /// better, at the price of latency: use 8192 at 44.1 kHz off line).
    pub fn with_frame(frame_size: usize) -> Self {
        Self {
            method: NoteMethod::Learned,
            note_threshold: 0.5,
            expected_threshold: 0.5,
            chord_range_db: 24.0,
            frame_size,
            // 1024 samples is 23 ms at 44.1 kHz: past the attack, even for the
            // long frames of off-line use.
            delay: (frame_size / 3).min(1024),
            before_gap: frame_size * 3 / 8,
            lowest_pitch: PIANO_LOWEST,
            highest_pitch: PIANO_HIGHEST,
            max_polyphony: 8,
            harmonics: 12,
            tolerance: 0.025,
            inharmonicity: 0.0003,
            relative_threshold: 0.4,
            floor_ratio: 3.0,
            prior: 0.4,
            reference_dbfs: -10.0,
            min_level_db: 30.0,
            min_fundamental: 0.1,
            release_db: 30.0,
            max_duration: 8.0,
            check_interval: frame_size / 2,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`EngineError::BadFrameSize`] or [`EngineError::BadParameter`].
    pub fn validate(&self) -> Result<()> {
        let n = self.frame_size;
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&n) || n % 2 != 0 {
            return Err(EngineError::BadFrameSize { frame_size: n });
        }
        let bad = |name, value: f64| Err(EngineError::BadParameter { name, value });
        if self.delay > MAX_FRAME_SIZE {
            return bad("delay", self.delay as f64);
        }
        if self.before_gap > n {
            return bad("before_gap", self.before_gap as f64);
        }
        if self.lowest_pitch > self.highest_pitch || self.highest_pitch > 127 {
            return bad("highest_pitch", f64::from(self.highest_pitch));
        }
        if self.max_polyphony == 0 || self.max_polyphony > 88 {
            return bad("max_polyphony", self.max_polyphony as f64);
        }
        if self.harmonics == 0 || self.harmonics > 64 {
            return bad("harmonics", self.harmonics as f64);
        }
        let unit = |name, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v > lo && v <= hi {
                Ok(())
            } else {
                Err(EngineError::BadParameter { name, value: v })
            }
        };
        unit("tolerance", self.tolerance, 0.0, 0.5)?;
        unit("inharmonicity", self.inharmonicity + 1.0, 0.0, 1.1)?;
        unit("relative_threshold", self.relative_threshold, 0.0, 1.0)?;
        unit("floor_ratio", self.floor_ratio, 0.0, 1e6)?;
        unit("prior", self.prior, 0.0, 1.0)?;
        unit("note_threshold", self.note_threshold, 0.0, 1.0)?;
        unit("expected_threshold", self.expected_threshold, 0.0, 1.0)?;
        unit("chord_range_db", self.chord_range_db, 0.0, 200.0)?;
        unit("reference_dbfs", self.reference_dbfs + 200.0, 0.0, 200.0)?;
        unit("release_db", self.release_db, 0.0, 200.0)?;
        unit("min_level_db", self.min_level_db, 0.0, 200.0)?;
        unit("min_fundamental", self.min_fundamental + 1.0, 0.0, 2.0)?;
        unit("max_duration", self.max_duration, 0.0, 3600.0)?;
        if self.check_interval == 0 || self.check_interval > n {
            return bad("check_interval", self.check_interval as f64);
        }
        Ok(())
    }

    /// Samples after an onset until its notes are known.
    pub fn latency_samples(&self) -> usize {
        self.frame_size + self.delay
    }

    /// Estimated MIDI velocity (1..=127) of a note at `level_dbfs`.
    pub fn velocity(&self, level_dbfs: f64) -> u8 {
        let v = 127.0 * 10f64.powf((level_dbfs - self.reference_dbfs) / 40.0);
        v.round().clamp(1.0, 127.0) as u8
    }
}

/// A note found at an onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteEvent {
    /// MIDI note number.
    pub pitch: u8,
    /// Onset position, samples since the start of the stream.
    pub sample: u64,
    /// Onset time, seconds.
    pub time: f64,
    /// Amplitude of the note's partials, dBFS.
    pub level_dbfs: f64,
    /// Estimated MIDI velocity, 1..=127.
    pub velocity: u8,
    /// `0..1`: how far the salience cleared the threshold (`s / (s + t)`).
    pub confidence: f64,
}

/// The end of a note reported earlier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteOff {
    /// MIDI note number.
    pub pitch: u8,
    /// Its onset, samples (identifies the note with `pitch`).
    pub onset_sample: u64,
    /// End position, samples.
    pub sample: u64,
    /// End time, seconds.
    pub time: f64,
}

/// The loudness of what an onset added.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetLevel {
    /// Onset position, samples.
    pub sample: u64,
    /// Onset time, seconds.
    pub time: f64,
    /// Amplitude of the new sound (after − before spectrum), dBFS.
    pub level_dbfs: f64,
    /// RMS of the *after* frame (all that sounds), dBFS.
    pub frame_dbfs: f64,
    /// Estimated MIDI velocity of the onset (its loudest note's, or from
    /// `level_dbfs` when no note was found).
    pub velocity: u8,
    /// Number of notes found at it.
    pub notes: usize,
}

/// Whether an expected pitch sounded at an onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchCheck {
    /// The expected MIDI pitch.
    pub pitch: u8,
    /// Onset time, seconds.
    pub time: f64,
    /// Whether it was heard.
    pub sounded: bool,
    /// `0..1`; 0.5 is the decision threshold.
    pub confidence: f64,
    /// Its level if sounded, dBFS (the floor otherwise).
    pub level_dbfs: f64,
}

/// Everything note detection reports for a stretch of stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoteOutput {
    /// Notes started, in onset order (pitch ascending within an onset).
    pub notes: Vec<NoteEvent>,
    /// Notes ended, in time order.
    pub note_offs: Vec<NoteOff>,
    /// One per analysed onset.
    pub onset_levels: Vec<OnsetLevel>,
    /// Score-informed checks, one per expected pitch.
    pub checks: Vec<PitchCheck>,
}

/// Partials of one pitch: bin ranges and weights.
#[derive(Debug, Clone)]
struct Partials {
    ranges: Vec<(usize, usize)>,
    weights: Vec<f64>,
}

/// The spectral part of note detection: tables and scratch buffers.
struct NoteModel {
    config: NoteConfig,
    sample_rate: u32,
    spectrum: Spectrum,
    partials: Vec<Partials>,
    frame: Vec<f32>,
    before: Vec<f32>,
    after: Vec<f32>,
    residual: Vec<f32>,
    net: NoteNet,
    probabilities: [f32; PITCHES],
    salience: Vec<f64>,
    /// One past the highest bin any partial reaches.
    top_bin: usize,
}

/// An expected pitch: (pitch, confidence, level in dBFS if found).
type Checked = (u8, f64, Option<f64>);

/// A probability `q` as a confidence that is 0.5 at `threshold`: the odds
/// ratio of `q` to the threshold, as a probability.
fn confidence(q: f64, threshold: f64) -> f64 {
    let a = q * (1.0 - threshold);
    let b = threshold * (1.0 - q);
    if a + b > 0.0 {
        a / (a + b)
    } else {
        0.0
    }
}

/// One pitch found by [`NoteModel::estimate`].
#[derive(Debug, Clone, Copy)]
struct Found {
    pitch: u8,
    level_dbfs: f64,
    confidence: f64,
}

impl NoteModel {
    fn new(sample_rate: u32, config: NoteConfig) -> Self {
        let n = config.frame_size;
        let spectrum = Spectrum::new(n);
        let bins = spectrum.bins();
        let bw = f64::from(sample_rate) / n as f64;
        let top = (f64::from(sample_rate) * 0.45).min(8_000.0);
        let partials: Vec<Partials> = (config.lowest_pitch..=config.highest_pitch)
            .map(|p| {
                let f0 = midi_to_hz(f64::from(p));
                let mut ranges = Vec::new();
                let mut weights = Vec::new();
                for h in 1..=config.harmonics {
                    let hf = h as f64;
                    let f = hf * f0 * (1.0 + config.inharmonicity * hf * hf).sqrt();
                    if f > top {
                        break;
                    }
                    // The bins nearest to ±tolerance around the partial (at
                    // least its nearest bin): no wider, or low pitches would
                    // collect their neighbours' partials.
                    let centre = (f / bw).round() as usize;
                    let lo = ((f * (1.0 - config.tolerance) / bw).round() as usize)
                        .min(centre)
                        .max(1);
                    let hi = ((f * (1.0 + config.tolerance) / bw).round() as usize)
                        .max(centre)
                        .min(bins - 1);
                    ranges.push((lo, hi));
                    weights.push((f0 + 52.0) / (hf * f0 + 320.0));
                }
                Partials { ranges, weights }
            })
            .collect();
        let top_bin = partials
            .iter()
            .flat_map(|p: &Partials| p.ranges.iter().map(|r| r.1 + 1))
            .max()
            .unwrap_or(bins)
            .clamp(2, bins);
        Self {
            config,
            sample_rate,
            top_bin,
            partials,
            frame: vec![0.0; n],
            before: vec![0.0; bins],
            after: vec![0.0; bins],
            residual: vec![0.0; bins],
            net: NoteNet::new(n, sample_rate),
            probabilities: [0.0; PITCHES],
            salience: vec![0.0; usize::from(config.highest_pitch - config.lowest_pitch) + 1],
            spectrum,
        }
    }

    /// Loads `R = max(0, after − before)` for an onset at `s` from the ring;
    /// returns the RMS of the after frame (linear).
    fn load_onset(&mut self, ring: &SampleRing, s: u64) -> f64 {
        let n = self.config.frame_size as i64;
        let s = s as i64;
        ring.copy_to(s - self.config.before_gap as i64 - n, &mut self.frame);
        self.before
            .copy_from_slice(self.spectrum.compute(&self.frame));
        ring.copy_to(s + self.config.delay as i64, &mut self.frame);
        let rms = (self
            .frame
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            / n as f64)
            .sqrt();
        self.after
            .copy_from_slice(self.spectrum.compute(&self.frame));
        for ((r, &a), &b) in self.residual.iter_mut().zip(&self.after).zip(&self.before) {
            *r = (a - b).max(0.0);
        }
        rms
    }

    fn peak(&self, lo: usize, hi: usize) -> f32 {
        self.residual[lo..=hi].iter().copied().fold(0.0, f32::max)
    }

    fn compute_salience(&mut self) {
        let min_fundamental = self.config.min_fundamental;
        for (s, part) in self.salience.iter_mut().zip(&self.partials) {
            // A pitch with no fundamental at all is most likely the
            // sub-octave of notes that explain all its partials.
            let peaks = part
                .ranges
                .iter()
                .map(|&(lo, hi)| self.residual[lo..=hi].iter().copied().fold(0.0, f32::max));
            let strongest = peaks.clone().fold(0.0, f32::max);
            let fundamental = part.ranges.first().map_or(0.0, |&(lo, hi)| {
                self.residual[lo..=hi].iter().copied().fold(0.0, f32::max)
            });
            if f64::from(fundamental) < min_fundamental * f64::from(strongest) {
                *s = 0.0;
                continue;
            }
            *s = part
                .ranges
                .iter()
                .zip(&part.weights)
                .map(|(&(lo, hi), &w)| {
                    w * f64::from(self.residual[lo..=hi].iter().copied().fold(0.0, f32::max))
                })
                .sum();
        }
    }

    /// Amplitude (linear) of the energy of the residual, as a sine amplitude.
    fn residual_amplitude(&self) -> f64 {
        // A Hann-windowed sine of amplitude A puts A, A/2, A/2 in three bins.
        (self
            .residual
            .iter()
            .map(|&r| f64::from(r) * f64::from(r))
            .sum::<f64>()
            / 1.5)
            .sqrt()
    }

    /// Removes pitch index `i` from the residual; returns its amplitude.
    fn subtract(&mut self, i: usize) -> f64 {
        let part = &self.partials[i];
        let amps: Vec<f32> = part
            .ranges
            .iter()
            .map(|&(lo, hi)| self.peak(lo, hi))
            .collect();
        let mut energy = 0.0f64;
        for (h, &(lo, hi)) in part.ranges.iter().enumerate() {
            let a = amps[h];
            if a <= 0.0 {
                continue;
            }
            let share = if h == 0 {
                a
            } else {
                let prev = amps[h - 1];
                let next = amps.get(h + 1).copied().unwrap_or(prev);
                a.min(0.5 * (prev + next))
            };
            energy += f64::from(share) * f64::from(share);
            let keep = 1.0 - share / a;
            // One bin more each side: the rest of the window's main lobe.
            let hi = (hi + 1).min(self.residual.len() - 1);
            for r in &mut self.residual[lo.saturating_sub(1).max(1)..=hi] {
                *r *= keep;
            }
        }
        energy.sqrt()
    }

    /// The notes found at the loaded onset and, for each expected pitch, its
    /// confidence (and level if it sounded), by the configured method.
    fn estimate(&mut self, expected: &[u8]) -> (Vec<Found>, Vec<Checked>) {
        match self.config.method {
            NoteMethod::Learned => self.estimate_learned(expected),
            NoteMethod::HarmonicSum => self.estimate_harmonic(expected),
        }
    }

    /// The learned model's probability of the configured pitch index `i`
    /// (0 outside the piano's keys, which it does not judge).
    fn probability(&self, i: usize) -> f64 {
        let pitch = usize::from(self.config.lowest_pitch) + i;
        pitch
            .checked_sub(usize::from(PIANO_LOWEST))
            .and_then(|k| self.probabilities.get(k))
            .map_or(0.0, |&q| f64::from(q))
    }

    /// The learned model's logit of the configured pitch index `i`
    /// (`i` may lie outside the range), clipped to ±[`LOGIT_CLIP`]: the
    /// clip's low end outside the piano's keys.
    fn logit(&self, i: Option<usize>) -> f64 {
        let Some(i) = i.filter(|&i| i < self.salience.len()) else {
            return -LOGIT_CLIP;
        };
        let q = self.probability(i);
        if q <= 0.0 {
            return -LOGIT_CLIP;
        }
        (q / (1.0 - q)).ln().clamp(-LOGIT_CLIP, LOGIT_CLIP)
    }

    /// The check model's logit that expected pitch index `i` sounded, among
    /// the `expected` indices (see [`check_weights`](super::check_weights)):
    /// its own logit and by how much (0 if not) it is exceeded by its ±1 and
    /// ±2 semitone neighbours' largest, and by the largest of the other
    /// expected pitches within 2 semitones (a pitch the
    /// score expects beside one that clearly sounded is most likely that
    /// one's leakage, or a wrong note played in its place).
    fn check_logit(&self, i: usize, expected: &[usize]) -> f64 {
        let z = |j: Option<usize>| self.logit(j);
        let own = z(Some(i));
        let over = |other: f64| (other - own).max(0.0);
        let near = |d: usize| over(z(i.checked_sub(d)).max(z(Some(i + d))));
        let others = expected
            .iter()
            .filter(|&&e| e != i && e.abs_diff(i) <= 2)
            .map(|&e| z(Some(e)))
            .fold(-LOGIT_CLIP, f64::max);
        let inputs = [own, near(1), near(2), over(others)];
        inputs
            .iter()
            .zip(&CHECK_WEIGHTS)
            .map(|(x, w)| x * w)
            .sum::<f64>()
            + CHECK_BIAS
    }

    /// Learned model: every pitch whose probability reaches the threshold,
    /// most probable first, up to `max_polyphony`; levels by subtraction in
    /// that order (as the harmonic sum's).
    fn estimate_learned(&mut self, expected: &[u8]) -> (Vec<Found>, Vec<Checked>) {
        let cfg = self.config;
        self.net.load(&self.after, &self.before);
        self.net.probabilities(&mut self.probabilities);
        let mut order: Vec<(usize, f64)> = (0..self.salience.len())
            .map(|i| (i, self.probability(i)))
            .filter(|&(_, q)| q >= cfg.note_threshold)
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        order.truncate(cfg.max_polyphony);
        let mut found: Vec<Found> = order
            .iter()
            .map(|&(i, q)| Found {
                pitch: cfg.lowest_pitch + u8::try_from(i).unwrap_or(0),
                level_dbfs: amplitude_to_dbfs(self.subtract(i)),
                confidence: confidence(q, cfg.note_threshold),
            })
            .collect();
        let loudest = found.iter().map(|f| f.level_dbfs).fold(f64::MIN, f64::max);
        found.retain(|f| f.level_dbfs >= loudest - cfg.chord_range_db);
        let indices: Vec<usize> = expected
            .iter()
            .map(|&p| usize::from(p - cfg.lowest_pitch))
            .collect();
        let checks = expected
            .iter()
            .zip(&indices)
            .map(|(&p, &i)| {
                let q = 1.0 / (1.0 + (-self.check_logit(i, &indices)).exp());
                let threshold = cfg.expected_threshold;
                let level = (q >= threshold).then(|| {
                    found
                        .iter()
                        .find(|f| f.pitch == p)
                        .map_or_else(|| amplitude_to_dbfs(self.subtract(i)), |f| f.level_dbfs)
                });
                (p, confidence(q, threshold), level)
            })
            .collect();
        found.sort_by_key(|f| f.pitch);
        (found, checks)
    }

    /// Iterative estimation on the loaded residual. `expected` pitches get
    /// their thresholds multiplied by `prior`. Returns the notes found and,
    /// for each expected pitch, its confidence.
    fn estimate_harmonic(&mut self, expected: &[u8]) -> (Vec<Found>, Vec<Checked>) {
        let cfg = self.config;
        let lowest = cfg.lowest_pitch;
        let is_expected =
            |i: usize| expected.contains(&(lowest + u8::try_from(i).unwrap_or(u8::MAX)));
        self.compute_salience();
        // What a pitch would collect from a noise-like residual: its weights
        // times the median magnitude of the analysed bins.
        let mut sorted: Vec<f32> = self.residual[1..self.top_bin].to_vec();
        sorted.sort_by(f32::total_cmp);
        let median = f64::from(sorted[sorted.len() / 2]);
        let floor = (cfg.floor_ratio * median).max(1e-7);
        let mut first: Option<f64> = None;
        let mut found = Vec::new();
        let mut taken = vec![false; self.salience.len()];
        let weight_sums: Vec<f64> = self
            .partials
            .iter()
            .map(|p| p.weights.iter().sum::<f64>())
            .collect();
        // The prior lowers an expected pitch's threshold only if neither
        // semitone neighbour is 1.5 times as salient: otherwise its
        // salience is most likely a neighbour's partials (a wrong note a
        // semitone away, or leakage from one), not its own.
        let threshold = |first: Option<f64>, i: usize, salience: &[f64]| {
            let floor = floor * weight_sums[i];
            let base = first.map_or(floor, |f| floor.max(cfg.relative_threshold * f));
            let s = salience[i];
            let dominated = (i > 0 && salience[i - 1] > 1.5 * s)
                || salience.get(i + 1).is_some_and(|&n| n > 1.5 * s);
            if is_expected(i) && !dominated {
                base * cfg.prior
            } else {
                base
            }
        };
        // Best confidence seen for each expected pitch (index in `expected`).
        let mut checks: Vec<Checked> = expected.iter().map(|&p| (p, 0.0, None)).collect();
        for _ in 0..cfg.max_polyphony {
            // The candidate that clears its own threshold by the widest margin.
            let mut best: Option<(usize, f64)> = None;
            for (i, &s) in self.salience.iter().enumerate() {
                if taken[i] {
                    continue;
                }
                let ratio = s / threshold(first, i, &self.salience);
                if best.map_or(true, |(_, r)| ratio > r) {
                    best = Some((i, ratio));
                }
            }
            for c in &mut checks {
                let i = usize::from(c.0.saturating_sub(lowest));
                if c.2.is_none() && i < self.salience.len() && !taken[i] {
                    let ratio = self.salience[i] / threshold(first, i, &self.salience);
                    c.1 = ratio / (1.0 + ratio);
                }
            }
            let Some((i, ratio)) = best else { break };
            if ratio < 1.0 {
                break;
            }
            let sal = self.salience[i];
            first.get_or_insert(sal);
            taken[i] = true;
            let amplitude = self.subtract(i);
            let pitch = lowest + u8::try_from(i).unwrap_or(0);
            let level_dbfs = amplitude_to_dbfs(amplitude);
            if let Some(c) = checks.iter_mut().find(|c| c.0 == pitch) {
                c.1 = ratio / (1.0 + ratio);
                c.2 = Some(level_dbfs);
            }
            found.push(Found {
                pitch,
                level_dbfs,
                confidence: ratio / (1.0 + ratio),
            });
            self.compute_salience();
        }
        found.sort_by_key(|f| f.pitch);
        (found, checks)
    }

    /// Level (dBFS) of a pitch's first partials in the frame ending at `end`.
    fn partial_level(&mut self, ring: &SampleRing, end: u64, pitches: &[u8], out: &mut Vec<f64>) {
        let n = self.config.frame_size;
        ring.copy_to(end as i64 - n as i64, &mut self.frame);
        let mags = self.spectrum.compute(&self.frame);
        out.clear();
        for &p in pitches {
            let i = usize::from(p - self.config.lowest_pitch);
            let part = &self.partials[i];
            let energy: f64 = part
                .ranges
                .iter()
                .take(4)
                .map(|&(lo, hi)| {
                    let a = f64::from(mags[lo..=hi].iter().copied().fold(0.0, f32::max));
                    a * a
                })
                .sum();
            out.push(amplitude_to_dbfs(energy.sqrt()));
        }
    }

    fn time(&self, sample: u64) -> f64 {
        sample as f64 / f64::from(self.sample_rate)
    }
}

#[derive(Debug, Clone, Copy)]
struct Active {
    pitch: u8,
    onset_sample: u64,
    level_dbfs: f64,
}

#[derive(Debug, Clone)]
struct Pending {
    onset: Onset,
    due: u64,
    expected: Option<Vec<u8>>,
}

/// Streaming note detection fed with the stream and its onsets.
pub struct NoteTracker {
    model: NoteModel,
    ring: SampleRing,
    pending: VecDeque<Pending>,
    active: Vec<Active>,
    next_check: u64,
    onset_latency: u64,
    levels: Vec<f64>,
    pitches: Vec<u8>,
}

impl std::fmt::Debug for NoteTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteTracker")
            .field("config", &self.model.config)
            .field("pending", &self.pending.len())
            .field("active", &self.active.len())
            .finish_non_exhaustive()
    }
}

impl NoteTracker {
    /// A tracker for a stream at `sample_rate` whose onsets are confirmed
    /// `onset_latency` samples after their position, fed at most `max_chunk`
    /// samples at a time.
    ///
    /// # Errors
    /// [`EngineError::BadSampleRate`] or as [`NoteConfig::validate`].
    pub fn new(
        sample_rate: u32,
        config: NoteConfig,
        onset_latency: usize,
        max_chunk: usize,
    ) -> Result<Self> {
        let sample_rate = validate_sample_rate(u64::from(sample_rate))?;
        config.validate()?;
        let n = config.frame_size;
        // Oldest sample needed: the before frame of an onset confirmed late.
        let capacity =
            n + config.before_gap + onset_latency.max(n) + 2 * max_chunk + n + config.delay;
        Ok(Self {
            model: NoteModel::new(sample_rate, config),
            ring: SampleRing::new(capacity),
            pending: VecDeque::new(),
            active: Vec::new(),
            next_check: config.check_interval as u64,
            onset_latency: onset_latency as u64,
            levels: Vec::new(),
            pitches: Vec::new(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &NoteConfig {
        &self.model.config
    }

    /// Forgets the stream.
    pub fn reset(&mut self) {
        self.ring.reset();
        self.pending.clear();
        self.active.clear();
        self.next_check = self.model.config.check_interval as u64;
    }

    /// Feeds the next piece of the stream (already validated, at most
    /// `max_chunk` long) with the onsets confirmed by it; appends what
    /// becomes known. `expected` is attached to the first of `onsets`.
    pub(crate) fn push(
        &mut self,
        piece: &[f32],
        onsets: &[Onset],
        expected: &mut Option<Vec<u8>>,
        out: &mut NoteOutput,
    ) {
        self.ring.push(piece);
        let latency = self.model.config.latency_samples() as u64;
        for o in onsets {
            let due = (o.sample + latency).max(o.sample + self.onset_latency);
            self.pending.push_back(Pending {
                onset: *o,
                due,
                expected: expected.take(),
            });
        }
        let end = self.ring.end();
        loop {
            let onset_due = self.pending.front().map(|p| p.due).filter(|&d| d <= end);
            let check_due = Some(self.next_check).filter(|&d| d <= end);
            match (onset_due, check_due) {
                (Some(o), Some(c)) if o <= c => self.analyse_onset(out),
                (Some(_), None) => self.analyse_onset(out),
                (_, Some(c)) => {
                    self.check_offsets(c, out);
                    self.next_check += self.model.config.check_interval as u64;
                }
                (None, None) => break,
            }
        }
    }

    fn end_note(&mut self, index: usize, sample: u64, out: &mut NoteOutput) {
        let a = self.active.swap_remove(index);
        out.note_offs.push(NoteOff {
            pitch: a.pitch,
            onset_sample: a.onset_sample,
            sample,
            time: self.model.time(sample),
        });
    }

    fn analyse_onset(&mut self, out: &mut NoteOutput) {
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        let s = p.onset.sample;
        let cfg = self.model.config;
        let rms = self.model.load_onset(&self.ring, s);
        let new_amp = self.model.residual_amplitude();
        let expected = p.expected.unwrap_or_default();
        let (mut found, checks) = self.model.estimate(&expected);
        // Too quiet beside what sounds: the decay of earlier notes, not a note.
        let frame_dbfs = amplitude_to_dbfs(rms);
        found.retain(|f| f.level_dbfs >= frame_dbfs - cfg.min_level_db);
        let time = self.model.time(s);
        for f in &found {
            // A repeated pitch ends the note before it.
            if let Some(i) = self.active.iter().position(|a| a.pitch == f.pitch) {
                self.end_note(i, s, out);
            }
            self.active.push(Active {
                pitch: f.pitch,
                onset_sample: s,
                level_dbfs: f.level_dbfs,
            });
            out.notes.push(NoteEvent {
                pitch: f.pitch,
                sample: s,
                time,
                level_dbfs: f.level_dbfs,
                velocity: cfg.velocity(f.level_dbfs),
                confidence: f.confidence,
            });
        }
        let level_dbfs = amplitude_to_dbfs(new_amp);
        let velocity = found
            .iter()
            .map(|f| cfg.velocity(f.level_dbfs))
            .max()
            .unwrap_or_else(|| cfg.velocity(level_dbfs));
        out.onset_levels.push(OnsetLevel {
            sample: s,
            time,
            level_dbfs,
            frame_dbfs,
            velocity,
            notes: found.len(),
        });
        for (pitch, confidence, level) in checks {
            out.checks.push(PitchCheck {
                pitch,
                time,
                sounded: level.is_some(),
                confidence,
                level_dbfs: level.unwrap_or(super::levels::SILENCE_FLOOR_DBFS),
            });
        }
    }

    fn check_offsets(&mut self, end: u64, out: &mut NoteOutput) {
        if self.active.is_empty() {
            return;
        }
        let cfg = self.model.config;
        let centre = end.saturating_sub(cfg.frame_size as u64 / 2);
        self.pitches.clear();
        self.pitches.extend(self.active.iter().map(|a| a.pitch));
        let mut levels = std::mem::take(&mut self.levels);
        self.model
            .partial_level(&self.ring, end, &self.pitches, &mut levels);
        let max_len = (cfg.max_duration * f64::from(self.model.sample_rate)) as u64;
        let mut i = self.active.len();
        while i > 0 {
            i -= 1;
            let a = self.active[i];
            // Only judge frames wholly after the onset's after frame.
            if centre <= a.onset_sample + cfg.frame_size as u64 / 2 {
                continue;
            }
            if levels[i] < a.level_dbfs - cfg.release_db || centre - a.onset_sample >= max_len {
                self.end_note(i, centre, out);
            }
        }
        self.levels = levels;
    }

    /// Ends every sounding note at `sample` (the end of a stream).
    pub(crate) fn finish(&mut self, sample: u64, out: &mut NoteOutput) {
        while !self.active.is_empty() {
            self.end_note(self.active.len() - 1, sample, out);
        }
    }
}

/// Checks a list of MIDI pitches against the configured range.
///
/// # Errors
/// [`EngineError::BadPitch`] for the first pitch out of range.
pub fn validate_pitches(pitches: &[i64], config: &NoteConfig) -> Result<Vec<u8>> {
    pitches
        .iter()
        .map(|&p| match u8::try_from(p) {
            Ok(q) if (config.lowest_pitch..=config.highest_pitch).contains(&q) => Ok(q),
            _ => Err(EngineError::BadPitch {
                pitch: p,
                lowest: config.lowest_pitch,
                highest: config.highest_pitch,
            }),
        })
        .collect()
}

/// Score-informed check on a whole buffer: which of `expected` sounded at
/// the onset at `time` seconds (e.g. from [`detect_onsets`](super::onset::detect_onsets)).
///
/// # Errors
/// Bad input, sample rate or config, [`EngineError::BadParameter`] for a
/// time outside the buffer, [`EngineError::BadPitch`].
pub fn check_pitches(
    samples: &[f32],
    sample_rate: u32,
    time: f64,
    expected: &[i64],
    config: NoteConfig,
) -> Result<Vec<PitchCheck>> {
    let sample_rate = validate_sample_rate(u64::from(sample_rate))?;
    validate_samples(samples)?;
    config.validate()?;
    let duration = samples.len() as f64 / f64::from(sample_rate);
    if !(time.is_finite() && (0.0..duration).contains(&time)) {
        return Err(EngineError::BadParameter {
            name: "time",
            value: time,
        });
    }
    let expected = validate_pitches(expected, &config)?;
    let mut model = NoteModel::new(sample_rate, config);
    // The ring holds the whole buffer: addressing is the same.
    let mut ring = SampleRing::new(samples.len());
    ring.push(samples);
    let s = (time * f64::from(sample_rate)).round() as u64;
    model.load_onset(&ring, s);
    let (_, checks) = model.estimate(&expected);
    Ok(checks
        .into_iter()
        .map(|(pitch, confidence, level)| PitchCheck {
            pitch,
            time: s as f64 / f64::from(sample_rate),
            sounded: level.is_some(),
            confidence,
            level_dbfs: level.unwrap_or(super::levels::SILENCE_FLOOR_DBFS),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analyser::{analyse, AnalyserConfig};
    use crate::audio::onset::OnsetConfig;
    use std::f64::consts::TAU;

    const SR: u32 = 44_100;

    /// Piano-like tones: (time, pitches, amplitude), 20 partials, 0.5 s decay
    /// (with fewer, the learned model may read the last one as a high note).
    fn piano(events: &[(f64, &[u8], f64)], seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(SR)) as usize;
        let mut out = vec![0.0f64; n];
        for &(t0, pitches, amp) in events {
            let start = (t0 * f64::from(SR)) as usize;
            for &p in pitches {
                let f0 = midi_to_hz(f64::from(p));
                for (j, y) in out[start..].iter_mut().enumerate() {
                    let t = j as f64 / f64::from(SR);
                    let env = (t / 0.002).min(1.0) * (-t / 0.5).exp();
                    let tone: f64 = (1..=20)
                        .map(f64::from)
                        .filter(|h| h * f0 < 0.45 * f64::from(SR))
                        .map(|h| (TAU * f0 * h * t).sin() / h)
                        .sum();
                    *y += amp * env * tone;
                }
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    fn notes_only() -> AnalyserConfig {
        AnalyserConfig {
            onset: OnsetConfig::default(),
            pitch: None,
            notes: Some(NoteConfig::for_rate(SR)),
        }
    }

    #[test]
    fn finds_single_notes_and_chords() {
        let x = piano(
            &[
                (0.5, &[60], 0.2),
                (1.2, &[48, 55, 64], 0.1),
                (2.0, &[53, 57, 60, 65], 0.08),
            ],
            3.0,
        );
        let a = analyse(&x, SR, notes_only()).unwrap();
        let found: Vec<(u8, u64)> = a
            .notes
            .iter()
            .map(|n| (n.pitch, (n.onset * 10.0).round() as u64))
            .collect();
        let want = [
            (60, 5),
            (48, 12),
            (55, 12),
            (64, 12),
            (53, 20),
            (57, 20),
            (60, 20),
            (65, 20),
        ];
        let hits = want.iter().filter(|w| found.contains(w)).count();
        // At most two voices of the four-note chord may be masked or misread
        // by a semitone: its tones decay with an 80 ms time constant, and the
        // after frame starts 23 ms past the onset.
        assert!(hits >= 6, "{found:?}");
        assert!(found.contains(&(60, 5)) && found.contains(&(48, 12)));
        assert!(found.len() <= 9, "{found:?}");
        // One level per chord. The onset detector, sensitive to the second note of a spread
        // chord since session 2, may also report the beating of the last chord's coinciding
        // partials (F3 and F4, 20 partials each) late in its decay: never before 2.5 s.
        let onsets: Vec<f64> = a.onset_levels.iter().map(|o| o.time).collect();
        let chords: Vec<f64> = onsets.iter().copied().filter(|&t| t < 2.5).collect();
        assert_eq!(chords.len(), 3, "{onsets:?}");
        for (found, want) in chords.iter().zip([0.5, 1.2, 2.0]) {
            assert!((found - want).abs() < 0.02, "{onsets:?}");
        }
        assert!(onsets.len() <= 4, "{onsets:?}");
        assert!(a.notes.iter().all(|n| n.offset > n.onset));
    }

    #[test]
    fn harmonic_sum_is_still_available() {
        let x = piano(&[(0.5, &[60], 0.2), (1.2, &[48, 55, 64], 0.1)], 2.0);
        let config = AnalyserConfig {
            notes: Some(NoteConfig {
                method: NoteMethod::HarmonicSum,
                ..NoteConfig::for_rate(SR)
            }),
            ..notes_only()
        };
        let a = analyse(&x, SR, config).unwrap();
        let found: Vec<u8> = a.notes.iter().map(|n| n.pitch).collect();
        assert_eq!(found, [60, 48, 55, 64]);
    }

    #[test]
    fn confidence_is_even_at_the_threshold() {
        assert!((confidence(0.2, 0.2) - 0.5).abs() < 1e-12);
        assert!((confidence(0.6, 0.6) - 0.5).abs() < 1e-12);
        assert!(confidence(0.3, 0.2) > 0.5 && confidence(0.1, 0.2) < 0.5);
        assert_eq!(confidence(0.0, 0.5), 0.0);
        assert!(confidence(1.0, 0.5) > 0.999);
    }

    #[test]
    fn velocity_follows_level() {
        let c = NoteConfig::for_rate(SR);
        assert_eq!(c.velocity(c.reference_dbfs), 127);
        assert_eq!(c.velocity(c.reference_dbfs + 10.0), 127);
        assert_eq!(c.velocity(c.reference_dbfs - 40.0), 13);
        assert_eq!(c.velocity(-200.0), 1);
        let x = piano(
            &[(0.5, &[60], 0.3), (1.0, &[64], 0.1), (1.5, &[67], 0.03)],
            2.2,
        );
        let a = analyse(&x, SR, notes_only()).unwrap();
        // The learned model may add a faint ghost to these synthetic tones
        // (it knows piano partials, not 1/h ones): look at the played pitches.
        let v: Vec<u8> = [60, 64, 67]
            .iter()
            .filter_map(|&p| a.notes.iter().find(|n| n.pitch == p))
            .map(|n| n.velocity)
            .collect();
        assert_eq!(v.len(), 3, "{:?}", a.notes);
        assert!(a.notes.len() <= 4, "{:?}", a.notes);
        assert!(v[0] > v[1] && v[1] > v[2], "{v:?}");
    }

    #[test]
    fn score_informed_check() {
        let x = piano(&[(0.5, &[53, 57, 60, 65], 0.1)], 1.5);
        let checks = check_pitches(
            &x,
            SR,
            0.5,
            &[53, 57, 60, 65, 64, 55],
            NoteConfig::for_rate(SR),
        )
        .unwrap();
        let said: Vec<bool> = checks.iter().map(|c| c.sounded).collect();
        assert_eq!(said, [true, true, true, true, false, false], "{checks:?}");
        assert!(checks
            .iter()
            .all(|c| (c.confidence >= 0.5) == c.sounded && (0.0..1.0).contains(&c.confidence)));
        let err = check_pitches(&x, SR, 0.5, &[200], NoteConfig::for_rate(SR)).unwrap_err();
        assert!(matches!(err, EngineError::BadPitch { pitch: 200, .. }));
        assert!(err.to_string().contains("pitch 200"));
        let err = check_pitches(&x, SR, 9.0, &[60], NoteConfig::for_rate(SR)).unwrap_err();
        assert!(matches!(
            err,
            EngineError::BadParameter { name: "time", .. }
        ));
    }

    #[test]
    fn check_doubts_a_pitch_beside_an_expected_one_that_sounded() {
        let x = piano(&[(0.5, &[48, 60], 0.1)], 1.5);
        let config = NoteConfig::for_rate(SR);
        let checks = check_pitches(&x, SR, 0.5, &[48, 60, 59, 61, 62], config).unwrap();
        let said: Vec<bool> = checks.iter().map(|c| c.sounded).collect();
        assert_eq!(said, [true, true, false, false, false], "{checks:?}");
        // The same wrong pitch, expected alone and beside the played one: the
        // played one's presence lowers its confidence.
        let alone = check_pitches(&x, SR, 0.5, &[61], config).unwrap()[0];
        let beside = check_pitches(&x, SR, 0.5, &[60, 61], config).unwrap()[1];
        assert!(beside.confidence < alone.confidence, "{alone:?} {beside:?}");
        assert!(!beside.sounded);
    }

    #[test]
    fn streaming_equals_batch() {
        use crate::audio::analyser::StreamingAnalyser;
        let x = piano(&[(0.3, &[60, 64], 0.1), (0.9, &[62], 0.2)], 1.6);
        let batch = analyse(&x, SR, AnalyserConfig::for_rate(SR)).unwrap();
        for size in [1, 511, 512, 2000] {
            let mut a = StreamingAnalyser::with_config(SR, AnalyserConfig::for_rate(SR)).unwrap();
            let mut notes = Vec::new();
            let mut offs = Vec::new();
            let mut pitch = Vec::new();
            let mut loudness = Vec::new();
            for c in x.chunks(size) {
                let f = a.process(c).unwrap();
                notes.extend(f.notes.notes);
                offs.extend(f.notes.note_offs);
                pitch.extend(f.pitch);
                loudness.extend(f.loudness);
            }
            let end = a.samples_seen() as f64 / f64::from(SR);
            offs.extend(a.finish().note_offs);
            let assembled = crate::audio::analyser::assemble_notes(&notes, &offs, end);
            assert_eq!(assembled, batch.notes, "chunk {size}");
            assert_eq!(pitch, batch.pitch, "chunk {size}");
            assert_eq!(loudness, batch.loudness, "chunk {size}");
        }
    }

    #[test]
    fn config_errors() {
        let c = NoteConfig::for_rate(SR);
        assert!(c.validate().is_ok());
        assert_eq!(c.frame_size, 3072);
        assert_eq!(NoteConfig::for_rate(16_000).frame_size, 1024);
        let bad = |c: NoteConfig| c.validate().unwrap_err();
        assert!(matches!(
            bad(NoteConfig { frame_size: 7, ..c }),
            EngineError::BadFrameSize { frame_size: 7 }
        ));
        assert!(matches!(
            bad(NoteConfig {
                max_polyphony: 0,
                ..c
            }),
            EngineError::BadParameter {
                name: "max_polyphony",
                ..
            }
        ));
        assert!(matches!(
            bad(NoteConfig {
                relative_threshold: f64::NAN,
                ..c
            }),
            EngineError::BadParameter {
                name: "relative_threshold",
                ..
            }
        ));
        assert!(matches!(
            bad(NoteConfig {
                delay: 100_000,
                ..c
            }),
            EngineError::BadParameter { name: "delay", .. }
        ));
    }
}
