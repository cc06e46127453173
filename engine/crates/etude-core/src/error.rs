//! The one error type of the engine core.
//!
//! Every fallible function in `etude-core` returns [`EngineError`]. The enum is
//! deliberately *not* `#[non_exhaustive]`: the Python glue matches it
//! exhaustively, so adding a variant here forces a decision about how it
//! surfaces in Python.

use std::fmt;

/// Result alias used throughout the core.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything that can go wrong when analysing audio.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// The input buffer (or chunk) holds no samples.
    EmptyInput,
    /// A sample is NaN or infinite; `index` is its position in the input.
    NonFinite { index: usize, value: f32 },
    /// The sample rate is outside
    /// [`MIN_SAMPLE_RATE`](crate::audio::MIN_SAMPLE_RATE)..=[`MAX_SAMPLE_RATE`](crate::audio::MAX_SAMPLE_RATE).
    BadSampleRate { sample_rate: u64 },
    /// The analysis frame size is outside
    /// [`MIN_FRAME_SIZE`](crate::audio::onset::MIN_FRAME_SIZE)..=[`MAX_FRAME_SIZE`](crate::audio::onset::MAX_FRAME_SIZE)
    /// or is odd.
    BadFrameSize { frame_size: usize },
    /// The hop size is zero or larger than the frame size.
    BadHopSize { hop_size: usize, frame_size: usize },
    /// A tuning parameter is negative, non-finite or otherwise unusable.
    BadParameter { name: &'static str, value: f64 },
    /// A MIDI pitch is outside the analysed range `lowest..=highest`.
    BadPitch { pitch: i64, lowest: u8, highest: u8 },
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::audio::onset::{MAX_FRAME_SIZE, MIN_FRAME_SIZE};
        use crate::audio::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
        match self {
            Self::EmptyInput => f.write_str("audio input is empty (0 samples)"),
            Self::NonFinite { index, value } => {
                write!(f, "audio sample {index} is not finite ({value})")
            }
            Self::BadSampleRate { sample_rate } => write!(
                f,
                "sample rate {sample_rate} Hz is out of range \
                 ({MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz)"
            ),
            Self::BadFrameSize { frame_size } => write!(
                f,
                "frame size {frame_size} is invalid (must be even and in \
                 {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE})"
            ),
            Self::BadHopSize {
                hop_size,
                frame_size,
            } => write!(
                f,
                "hop size {hop_size} is invalid (must be in 1..={frame_size}, the frame size)"
            ),
            Self::BadParameter { name, value } => {
                write!(f, "parameter `{name}` has an invalid value ({value})")
            }
            Self::BadPitch {
                pitch,
                lowest,
                highest,
            } => write!(
                f,
                "pitch {pitch} is outside the analysed range (MIDI {lowest}..={highest})"
            ),
        }
    }
}

impl std::error::Error for EngineError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_informative() {
        let e = EngineError::NonFinite {
            index: 7,
            value: f32::NAN,
        };
        assert_eq!(e.to_string(), "audio sample 7 is not finite (NaN)");
        let e = EngineError::BadSampleRate { sample_rate: 10 };
        assert!(e.to_string().contains("10 Hz"));
        let e: Box<dyn std::error::Error> = Box::new(EngineError::EmptyInput);
        assert!(e.to_string().contains("empty"));
    }
}
