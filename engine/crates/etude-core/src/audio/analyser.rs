//! [`StreamingAnalyser`]: per-chunk figures for a live mono stream.
//!
//! Feed it chunks of any size as they arrive; each call returns the chunk's
//! levels and every event that became known during it: onsets (see
//! [`onset`](super::onset) for the latency), pitch frames
//! ([`pitch`](super::pitch)), loudness per 512-sample hop, and the notes,
//! note ends, onset loudness and score-informed checks of
//! [`notes`](super::notes).
//!
//! Internally each chunk is cut at the onset hop grid and the
//! [`LOUDNESS_HOP`] grid (absolute sample positions), and every analysis acts
//! only on samples it has seen, in the order of their positions: the events
//! are the same for any chunking, and the same as [`analyse`] on the whole
//! buffer.

use super::levels::{amplitude_to_dbfs, levels_unchecked};
use super::notes::{
    validate_pitches, NoteConfig, NoteEvent, NoteOff, NoteOutput, NoteTracker, OnsetLevel,
    PitchCheck,
};
use super::onset::{Onset, OnsetConfig, OnsetDetector};
use super::pitch::{PitchConfig, PitchFrame, PitchTracker};
use super::{validate_sample_rate, validate_samples};
use crate::error::Result;

/// Which analyses a [`StreamingAnalyser`] runs, and their settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyserConfig {
    /// Onset detection (always on).
    pub onset: OnsetConfig,
    /// Pitch tracking, if any.
    pub pitch: Option<PitchConfig>,
    /// Note detection (with dynamics and score checks), if any.
    pub notes: Option<NoteConfig>,
}

impl AnalyserConfig {
    /// Everything on, with the defaults for `sample_rate`.
    pub fn for_rate(sample_rate: u32) -> Self {
        Self::with_onset(sample_rate, OnsetConfig::default())
    }

    /// Everything on, with the given onset settings.
    pub fn with_onset(sample_rate: u32, onset: OnsetConfig) -> Self {
        Self {
            onset,
            pitch: Some(PitchConfig::for_rate(sample_rate)),
            notes: Some(NoteConfig::for_rate(sample_rate)),
        }
    }
}

/// Samples per loudness frame ([`LoudnessFrame`]), whatever the onset hop.
pub const LOUDNESS_HOP: usize = 512;

/// Loudness of one [`LOUDNESS_HOP`]-sample hop of the stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoudnessFrame {
    /// First sample of the hop.
    pub sample: u64,
    /// Centre of the hop, seconds.
    pub time: f64,
    /// RMS of the hop, dBFS.
    pub rms_dbfs: f64,
}

/// The figures for one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkFigures {
    /// RMS level of the chunk, dBFS.
    pub rms_dbfs: f64,
    /// Peak level of the chunk, dBFS.
    pub peak_dbfs: f64,
    /// Largest spectral flux of the frames completed during this chunk
    /// (0.0 when none was).
    pub flux: f32,
    /// Number of onset frames completed during this chunk.
    pub frames: usize,
    /// Onsets confirmed during this chunk, in time order. Their positions are
    /// since the start of the stream and may lie in an earlier chunk.
    pub onsets: Vec<Onset>,
    /// Pitch frames completed during this chunk.
    pub pitch: Vec<PitchFrame>,
    /// Loudness of each hop completed during this chunk.
    pub loudness: Vec<LoudnessFrame>,
    /// Notes, note ends, onset loudness and checks known since the last chunk.
    pub notes: NoteOutput,
}

impl ChunkFigures {
    /// Whether any onset was confirmed during this chunk.
    pub fn onset(&self) -> bool {
        !self.onsets.is_empty()
    }

    /// Onset times in seconds since the start of the stream.
    pub fn onset_times(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.onsets.iter().map(|o| o.time)
    }
}

/// Analyses a mono stream chunk by chunk.
#[derive(Debug)]
pub struct StreamingAnalyser {
    config: AnalyserConfig,
    onsets: OnsetDetector,
    pitch: Option<PitchTracker>,
    notes: Option<NoteTracker>,
    expected: Option<Vec<u8>>,
    /// Energy of the current loudness hop, by sample position modulo 4.
    hop_energy: [f64; 4],
    samples_seen: u64,
    scratch: Vec<Onset>,
    /// The onsets given to the note tracker (`scratch` less those too close).
    note_onsets: Vec<Onset>,
    /// Position of the last onset given to the note tracker.
    last_note_onset: Option<u64>,
    /// Samples in [`NOTE_ONSET_GAP`].
    note_onset_gap: u64,
}

/// An onset this soon (seconds) after the previous one is not analysed for
/// notes: the previous one's analysis frame (from 23 ms after it) already
/// hears its notes, and a second analysis, whose "before" frame holds the
/// first attack, mostly adds duplicates (onset detection reports notes
/// 30–45 ms apart, e.g. spread chords; note F on the tuning set 0.63 → 0.66
/// with this gap).
const NOTE_ONSET_GAP: f64 = 0.045;

impl StreamingAnalyser {
    /// An analyser for a stream at `sample_rate` Hz with every analysis on
    /// (pitch and notes at their defaults for the rate).
    ///
    /// # Errors
    /// As [`OnsetDetector::new`].
    pub fn new(sample_rate: u32, config: OnsetConfig) -> Result<Self> {
        let sample_rate = validate_sample_rate(u64::from(sample_rate))?;
        Self::with_config(sample_rate, AnalyserConfig::with_onset(sample_rate, config))
    }

    /// An analyser running the analyses in `config`.
    ///
    /// # Errors
    /// As [`OnsetDetector::new`], [`PitchTracker::new`] and [`NoteTracker::new`].
    pub fn with_config(sample_rate: u32, config: AnalyserConfig) -> Result<Self> {
        let onsets = OnsetDetector::new(sample_rate, config.onset)?;
        let pitch = config
            .pitch
            .map(|c| PitchTracker::new(sample_rate, c))
            .transpose()?;
        let hop = config.onset.hop_size;
        let notes = config
            .notes
            .map(|c| NoteTracker::new(sample_rate, c, onsets.latency_samples(), hop))
            .transpose()?;
        Ok(Self {
            config,
            onsets,
            pitch,
            notes,
            expected: None,
            hop_energy: [0.0; 4],
            samples_seen: 0,
            scratch: Vec::new(),
            note_onsets: Vec::new(),
            last_note_onset: None,
            // At most 0.045 s × 768 kHz: the cast is exact.
            note_onset_gap: (NOTE_ONSET_GAP * f64::from(sample_rate)).round() as u64,
        })
    }

    /// Analyses the next chunk (any length ≥ 1).
    ///
    /// On error the chunk is rejected whole and the analyser is unchanged.
    ///
    /// # Errors
    /// [`EngineError::EmptyInput`](crate::EngineError::EmptyInput) or
    /// [`EngineError::NonFinite`](crate::EngineError::NonFinite).
    pub fn process(&mut self, chunk: &[f32]) -> Result<ChunkFigures> {
        validate_samples(chunk)?;
        let levels = levels_unchecked(chunk);
        let mut figures = ChunkFigures {
            rms_dbfs: levels.rms_dbfs,
            peak_dbfs: levels.peak_dbfs,
            flux: 0.0,
            frames: 0,
            onsets: Vec::new(),
            pitch: Vec::new(),
            loudness: Vec::new(),
            notes: NoteOutput::default(),
        };
        let hop = self.config.onset.hop_size as u64;
        let lhop = LOUDNESS_HOP as u64;
        let sr = f64::from(self.onsets.sample_rate());
        let mut rest = chunk;
        while !rest.is_empty() {
            // Cut at the next multiple of the onset hop or the loudness hop.
            let to_boundary = (hop - self.samples_seen % hop).min(lhop - self.samples_seen % lhop);
            let take = usize::try_from(to_boundary)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (piece, tail) = rest.split_at(take);
            rest = tail;

            self.scratch.clear();
            let flux = self.onsets.process_unchecked(piece, &mut self.scratch);
            figures.frames += flux.frames;
            figures.flux = figures.flux.max(flux.max_flux);
            if let Some(p) = &mut self.pitch {
                p.process_unchecked(piece, &mut figures.pitch);
            }
            if let Some(n) = &mut self.notes {
                self.note_onsets.clear();
                for o in &self.scratch {
                    if self
                        .last_note_onset
                        .map_or(true, |last| o.sample >= last + self.note_onset_gap)
                    {
                        self.note_onsets.push(*o);
                        self.last_note_onset = Some(o.sample);
                    }
                }
                n.push(
                    piece,
                    &self.note_onsets,
                    &mut self.expected,
                    &mut figures.notes,
                );
            }
            figures.onsets.extend_from_slice(&self.scratch);

            // Each sample into the lane of its position modulo 4, so that
            // the sum is the same whatever the pieces (and vectorises).
            let mut lane = (self.samples_seen % 4) as usize;
            let mut body = piece;
            while lane != 0 && !body.is_empty() {
                self.hop_energy[lane] += f64::from(body[0]) * f64::from(body[0]);
                body = &body[1..];
                lane = (lane + 1) % 4;
            }
            let mut quads = body.chunks_exact(4);
            for q in &mut quads {
                for (e, &x) in self.hop_energy.iter_mut().zip(q) {
                    *e += f64::from(x) * f64::from(x);
                }
            }
            for (e, &x) in self.hop_energy.iter_mut().zip(quads.remainder()) {
                *e += f64::from(x) * f64::from(x);
            }
            self.samples_seen += take as u64;
            if self.samples_seen % lhop == 0 {
                let start = self.samples_seen - lhop;
                let e = &self.hop_energy;
                let energy = (e[0] + e[1]) + (e[2] + e[3]);
                figures.loudness.push(LoudnessFrame {
                    sample: start,
                    time: (start as f64 + lhop as f64 / 2.0) / sr,
                    rms_dbfs: amplitude_to_dbfs((energy / lhop as f64).sqrt()),
                });
                self.hop_energy = [0.0; 4];
            }
        }
        Ok(figures)
    }

    /// Sets the pitches the score expects at the next onset (score-informed
    /// mode): the figures of the chunk where that onset's notes become known
    /// carry one [`PitchCheck`] per pitch. Replaces any expectation not yet
    /// attached to an onset; an empty list clears it.
    ///
    /// # Errors
    /// [`EngineError::BadPitch`](crate::EngineError::BadPitch) for a pitch
    /// outside the analysed range; nothing changes then.
    pub fn expect(&mut self, pitches: &[i64]) -> Result<()> {
        let Some(notes) = &self.notes else {
            return Ok(());
        };
        let pitches = validate_pitches(pitches, notes.config())?;
        self.expected = (!pitches.is_empty()).then_some(pitches);
        Ok(())
    }

    /// Ends the stream: every sounding note ends now. The analyser is then
    /// reset.
    pub fn finish(&mut self) -> NoteOutput {
        let mut out = NoteOutput::default();
        if let Some(n) = &mut self.notes {
            n.finish(self.samples_seen, &mut out);
        }
        self.reset();
        out
    }

    /// Starts a new stream: sample counting and all analysis state restart.
    pub fn reset(&mut self) {
        self.onsets.reset();
        if let Some(p) = &mut self.pitch {
            p.reset();
        }
        if let Some(n) = &mut self.notes {
            n.reset();
        }
        self.expected = None;
        self.hop_energy = [0.0; 4];
        self.samples_seen = 0;
        self.last_note_onset = None;
    }

    /// The stream's sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.onsets.sample_rate()
    }

    /// Samples processed since the start or the last [`reset`](Self::reset).
    pub fn samples_seen(&self) -> u64 {
        self.samples_seen
    }

    /// The analyses and their settings.
    pub fn config(&self) -> &AnalyserConfig {
        &self.config
    }

    /// The onset detector's settings.
    pub fn onset_config(&self) -> &OnsetConfig {
        self.onsets.config()
    }

    /// How long after an onset it is reported, in samples.
    pub fn onset_latency_samples(&self) -> usize {
        self.onsets.latency_samples()
    }
}

/// A note with its end, from a whole buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// MIDI note number.
    pub pitch: u8,
    /// Onset, seconds.
    pub onset: f64,
    /// End, seconds.
    pub offset: f64,
    /// Estimated MIDI velocity.
    pub velocity: u8,
    /// Level of its partials at the onset, dBFS.
    pub level_dbfs: f64,
    /// See [`NoteEvent::confidence`].
    pub confidence: f64,
}

/// Everything found in a whole buffer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// Onsets.
    pub onsets: Vec<Onset>,
    /// Pitch frames (empty if pitch tracking was off).
    pub pitch: Vec<PitchFrame>,
    /// Loudness per hop.
    pub loudness: Vec<LoudnessFrame>,
    /// Notes by onset, then pitch.
    pub notes: Vec<Note>,
    /// Loudness of each onset (empty if note detection was off).
    pub onset_levels: Vec<OnsetLevel>,
    /// Score-informed checks (none from a whole buffer).
    pub checks: Vec<PitchCheck>,
    /// RMS of the whole buffer, dBFS.
    pub rms_dbfs: f64,
    /// Peak of the whole buffer, dBFS.
    pub peak_dbfs: f64,
}

/// Pairs note starts with their ends (notes not ended end at `end`).
pub fn assemble_notes(events: &[NoteEvent], offs: &[NoteOff], end: f64) -> Vec<Note> {
    events
        .iter()
        .map(|e| {
            let offset = offs
                .iter()
                .find(|o| o.pitch == e.pitch && o.onset_sample == e.sample)
                .map_or(end, |o| o.time);
            Note {
                pitch: e.pitch,
                onset: e.time,
                offset,
                velocity: e.velocity,
                level_dbfs: e.level_dbfs,
                confidence: e.confidence,
            }
        })
        .collect()
}

/// Analyses a whole buffer: the events of streaming it through a fresh
/// [`StreamingAnalyser`] in any chunking, notes completed at the end.
///
/// # Errors
/// As [`StreamingAnalyser::with_config`] and [`StreamingAnalyser::process`].
pub fn analyse(samples: &[f32], sample_rate: u32, config: AnalyserConfig) -> Result<Analysis> {
    let mut a = StreamingAnalyser::with_config(sample_rate, config)?;
    let figures = a.process(samples)?;
    let end = a.samples_seen() as f64 / f64::from(a.sample_rate());
    let mut out = figures.notes;
    let last = a.finish();
    out.note_offs.extend(last.note_offs);
    Ok(Analysis {
        notes: assemble_notes(&out.notes, &out.note_offs, end),
        onsets: figures.onsets,
        pitch: figures.pitch,
        loudness: figures.loudness,
        onset_levels: out.onset_levels,
        checks: out.checks,
        rms_dbfs: figures.rms_dbfs,
        peak_dbfs: figures.peak_dbfs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::levels::SILENCE_FLOOR_DBFS as FLOOR;
    use crate::audio::onset::detect_onsets;
    use crate::audio::onset::tests::{bursts, test_signal, SR};
    use crate::EngineError;

    fn run(signal: &[f32], chunk: usize) -> (Vec<ChunkFigures>, StreamingAnalyser) {
        let mut a = StreamingAnalyser::new(SR, OnsetConfig::default()).unwrap();
        let figs = signal
            .chunks(chunk)
            .map(|c| a.process(c).unwrap())
            .collect();
        (figs, a)
    }

    #[test]
    fn onsets_close_together_are_analysed_for_notes_once() {
        // A spread chord, 40 ms between its notes: two onsets, one analysis.
        let times = [0.5, 0.54, 1.0];
        let signal = bursts(SR, 1.4, &times, &[440.0, 660.0, 220.0]);
        let a = analyse(&signal, SR, AnalyserConfig::for_rate(SR)).unwrap();
        assert_eq!(a.onsets.len(), 3, "{:?}", a.onsets);
        assert_eq!(a.onset_levels.len(), 2, "{:?}", a.onset_levels);
    }

    #[test]
    fn streaming_equals_batch_for_any_chunking() {
        let (signal, truth) = test_signal();
        let batch: Vec<f64> = detect_onsets(&signal, SR, OnsetConfig::default())
            .unwrap()
            .iter()
            .map(|o| o.time)
            .collect();
        assert_eq!(batch.len(), truth.len());
        for size in [256, 512, 1000, 1024, 333] {
            let (figs, a) = run(&signal, size);
            let times: Vec<f64> = figs.iter().flat_map(|f| f.onset_times()).collect();
            assert_eq!(times, batch, "chunk size {size}");
            assert_eq!(a.samples_seen(), signal.len() as u64);
            let flagged = figs.iter().filter(|f| f.onset()).count();
            assert!(flagged <= batch.len() && flagged > 0);
            let frames: usize = figs.iter().map(|f| f.frames).sum();
            assert_eq!(frames, (signal.len() - 1024) / 256 + 1);
        }
    }

    #[test]
    fn per_chunk_levels_and_flux() {
        let (signal, _) = test_signal();
        let (figs, _) = run(&signal, 1024);
        // The first second is silence.
        for f in &figs[..40] {
            assert_eq!(f.rms_dbfs, FLOOR);
            assert_eq!(f.peak_dbfs, FLOOR);
            assert_eq!(f.flux, 0.0);
            assert!(!f.onset());
        }
        let loud = figs.iter().map(|f| f.peak_dbfs).fold(FLOOR, f64::max);
        assert!(loud > -12.0 && loud <= 0.0, "{loud}");
        let onset_flux = figs
            .iter()
            .filter(|f| f.onset())
            .map(|f| f.flux)
            .fold(f32::INFINITY, f32::min);
        assert!(onset_flux > 0.0);
    }

    #[test]
    fn reset_and_accessors() {
        let (signal, _) = test_signal();
        let mut a = StreamingAnalyser::new(48_000, OnsetConfig::with_sizes(2048, 256)).unwrap();
        assert_eq!(a.sample_rate(), 48_000);
        assert_eq!(a.onset_config().frame_size, 2048);
        assert_eq!(a.onset_latency_samples(), 1024);
        a.process(&signal[..5000]).unwrap();
        assert_eq!(a.samples_seen(), 5000);
        a.reset();
        assert_eq!(a.samples_seen(), 0);
    }

    #[test]
    fn bad_chunks_are_rejected_without_side_effects() {
        let mut a = StreamingAnalyser::new(SR, OnsetConfig::default()).unwrap();
        a.process(&[0.0; 100]).unwrap();
        assert_eq!(a.process(&[]), Err(EngineError::EmptyInput));
        assert!(matches!(
            a.process(&[0.0, f32::NAN]),
            Err(EngineError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            a.process(&[f32::NEG_INFINITY]),
            Err(EngineError::NonFinite { index: 0, .. })
        ));
        assert_eq!(a.samples_seen(), 100);
        for sr in [0, 10, 10_000_000] {
            assert_eq!(
                StreamingAnalyser::new(sr, OnsetConfig::default()).unwrap_err(),
                EngineError::BadSampleRate {
                    sample_rate: u64::from(sr)
                }
            );
        }
    }
}
