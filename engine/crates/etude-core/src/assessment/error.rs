//! The error type of the assessment module.

use std::fmt;

/// Everything the assessment module refuses.
///
/// Not `#[non_exhaustive]`: the Python glue maps it exhaustively.
#[derive(Debug, Clone, PartialEq)]
pub enum AssessmentError {
    /// The score has no (non-grace) note.
    EmptyScore,
    /// A score note has an unusable field (non-finite or negative value).
    BadScoreNote {
        index: usize,
        field: &'static str,
        value: f64,
    },
    /// A performed note has an unusable field (non-finite time, offset before
    /// onset, pitch or velocity above 127).
    BadPerfNote {
        index: usize,
        field: &'static str,
        value: f64,
    },
    /// A tuning parameter is out of range.
    BadParameter { name: &'static str, value: f64 },
    /// A piece index lookup or insertion refers to an unknown piece.
    UnknownPiece { index: usize },
}

impl fmt::Display for AssessmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyScore => f.write_str("the score has no notes"),
            Self::BadScoreNote {
                index,
                field,
                value,
            } => write!(f, "score note {index}: `{field}` is invalid ({value})"),
            Self::BadPerfNote {
                index,
                field,
                value,
            } => write!(f, "performed note {index}: `{field}` is invalid ({value})"),
            Self::BadParameter { name, value } => {
                write!(f, "parameter `{name}` has an invalid value ({value})")
            }
            Self::UnknownPiece { index } => write!(f, "no piece with index {index}"),
        }
    }
}

impl std::error::Error for AssessmentError {}
