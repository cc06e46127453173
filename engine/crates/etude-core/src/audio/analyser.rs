//! [`StreamingAnalyser`]: per-chunk figures for a live mono stream.
//!
//! Feed it chunks of any size as they arrive; each call returns the chunk's
//! levels, the spectral flux of the frames it completed and the onsets
//! confirmed during it (see [`onset`](super::onset) for the latency). Later
//! analyses (`pitch`, `dynamics`) will be added here as further fields of
//! [`ChunkFigures`], driven by the same overlap buffer.

use super::levels::levels_unchecked;
use super::onset::{Onset, OnsetConfig, OnsetDetector};
use super::validate_samples;
use crate::error::Result;

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
    /// Number of analysis frames completed during this chunk.
    pub frames: usize,
    /// Onsets confirmed during this chunk, in time order. Their positions are
    /// since the start of the stream and may lie in an earlier chunk.
    pub onsets: Vec<Onset>,
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
    onsets: OnsetDetector,
    samples_seen: u64,
}

impl StreamingAnalyser {
    /// An analyser for a stream at `sample_rate` Hz.
    ///
    /// # Errors
    /// As [`OnsetDetector::new`].
    pub fn new(sample_rate: u32, config: OnsetConfig) -> Result<Self> {
        Ok(Self {
            onsets: OnsetDetector::new(sample_rate, config)?,
            samples_seen: 0,
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
        // Allocates only if an onset is confirmed.
        let mut onsets = Vec::new();
        let flux = self.onsets.process_unchecked(chunk, &mut onsets);
        self.samples_seen += chunk.len() as u64;
        Ok(ChunkFigures {
            rms_dbfs: levels.rms_dbfs,
            peak_dbfs: levels.peak_dbfs,
            flux: flux.max_flux,
            frames: flux.frames,
            onsets,
        })
    }

    /// Starts a new stream: sample counting and all analysis state restart.
    pub fn reset(&mut self) {
        self.onsets.reset();
        self.samples_seen = 0;
    }

    /// The stream's sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.onsets.sample_rate()
    }

    /// Samples processed since the start or the last [`reset`](Self::reset).
    pub fn samples_seen(&self) -> u64 {
        self.samples_seen
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::levels::SILENCE_FLOOR_DBFS as FLOOR;
    use crate::audio::onset::detect_onsets;
    use crate::audio::onset::tests::{test_signal, SR};
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
            assert_eq!(frames, (signal.len() - 1024) / 512 + 1);
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
        assert_eq!(a.onset_latency_samples(), 1024 + 256);
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
