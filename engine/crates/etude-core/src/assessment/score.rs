//! The compact score model and the performed notes.
//!
//! The score is a flat list of notes with repeats already unfolded (the
//! Python importer does that with partitura). Time on the score side is in
//! quarter notes from the start of the unfolded score; `onset_s` is the same
//! position in seconds at the notated tempo.

use super::error::AssessmentError;

/// Which hand a note belongs to (the staff: upper = right, lower = left).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hand {
    Right,
    Left,
}

impl Hand {
    /// `"right"` or `"left"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Right => "right",
            Self::Left => "left",
        }
    }
}

/// One note of the score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreNote {
    /// MIDI pitch.
    pub pitch: u8,
    /// Onset in quarter notes from the start of the (unfolded) score.
    pub onset_q: f64,
    /// Notated duration in quarter notes (0 for grace notes).
    pub duration_q: f64,
    /// Onset in seconds at the notated tempo.
    pub onset_s: f64,
    /// Notated duration in seconds at the notated tempo.
    pub duration_s: f64,
    /// Measure number as printed (repeats repeat it).
    pub bar: i32,
    /// Beat within the bar, from 1.
    pub beat: f64,
    pub hand: Hand,
    pub voice: u16,
    /// A grace note (played just before its main note).
    pub grace: bool,
    /// The note carries an ornament (trill, mordent, turn…): the player may
    /// add notes around it.
    pub ornament: bool,
    /// Loudness the markings ask for, on 0 (ppp) … 1 (fff); `None` when the
    /// score has no dynamics marking before the note.
    pub dynamic: Option<f64>,
}

impl ScoreNote {
    /// A plain note (right hand, voice 1, no marking); convenient in tests.
    #[must_use]
    pub fn simple(pitch: u8, onset_q: f64, duration_q: f64) -> Self {
        Self {
            pitch,
            onset_q,
            duration_q,
            onset_s: onset_q * 0.5,
            duration_s: duration_q * 0.5,
            bar: 1 + (onset_q / 4.0).floor() as i32,
            beat: 1.0 + onset_q.rem_euclid(4.0),
            hand: Hand::Right,
            voice: 1,
            grace: false,
            ornament: false,
            dynamic: None,
        }
    }
}

/// One performed note (seconds, MIDI velocity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerfNote {
    pub pitch: u8,
    pub onset_s: f64,
    pub offset_s: f64,
    pub velocity: u8,
}

impl PerfNote {
    #[must_use]
    pub fn new(pitch: u8, onset_s: f64, offset_s: f64, velocity: u8) -> Self {
        Self {
            pitch,
            onset_s,
            offset_s,
            velocity,
        }
    }
}

/// Score notes that start together (a chord or a single note).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// Onset in quarters.
    pub q: f64,
    /// Onset in seconds at the notated tempo.
    pub s: f64,
    /// Indices into [`Score::notes`], grace notes included.
    pub notes: Vec<usize>,
    /// Sorted, deduplicated pitches of those notes.
    pub pitches: Vec<u8>,
}

impl Group {
    pub fn has_pitch(&self, pitch: u8) -> bool {
        self.pitches.binary_search(&pitch).is_ok()
    }
}

/// A validated score with its notes grouped by onset.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    notes: Vec<ScoreNote>,
    groups: Vec<Group>,
    /// `group_of[i]`: the group of note `i`.
    group_of: Vec<usize>,
    /// `primary[i]`: the note that is played for note `i` — itself, or for a
    /// unison (the same pitch at the same onset in another voice, one key
    /// press) the longest of the unison notes.
    primary: Vec<usize>,
}

/// Onsets closer than this (in quarters) are one group.
const SAME_ONSET_Q: f64 = 1e-6;

impl Score {
    /// Validates and indexes the notes; the caller's order is kept, and every
    /// result refers to notes by their index in `notes`.
    ///
    /// # Errors
    /// [`AssessmentError::EmptyScore`] without notes,
    /// [`AssessmentError::BadScoreNote`] for a non-finite or negative time.
    pub fn new(notes: Vec<ScoreNote>) -> Result<Self, AssessmentError> {
        if notes.is_empty() {
            return Err(AssessmentError::EmptyScore);
        }
        for (index, n) in notes.iter().enumerate() {
            let checks = [
                ("onset_q", n.onset_q, false),
                ("duration_q", n.duration_q, true),
                ("onset_s", n.onset_s, false),
                ("duration_s", n.duration_s, true),
                ("beat", n.beat, true),
            ];
            for (field, value, non_negative) in checks {
                if !value.is_finite() || (non_negative && value < 0.0) {
                    return Err(AssessmentError::BadScoreNote {
                        index,
                        field,
                        value,
                    });
                }
            }
            if n.pitch > 127 {
                return Err(AssessmentError::BadScoreNote {
                    index,
                    field: "pitch",
                    value: f64::from(n.pitch),
                });
            }
            if let Some(d) = n.dynamic {
                if !d.is_finite() {
                    return Err(AssessmentError::BadScoreNote {
                        index,
                        field: "dynamic",
                        value: d,
                    });
                }
            }
        }
        let mut order: Vec<usize> = (0..notes.len()).collect();
        order.sort_by(|&a, &b| {
            notes[a]
                .onset_q
                .total_cmp(&notes[b].onset_q)
                .then(notes[a].pitch.cmp(&notes[b].pitch))
        });
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = vec![0; notes.len()];
        for &i in &order {
            let n = &notes[i];
            match groups.last_mut() {
                Some(g) if (n.onset_q - g.q).abs() <= SAME_ONSET_Q => g.notes.push(i),
                _ => groups.push(Group {
                    q: n.onset_q,
                    s: n.onset_s,
                    notes: vec![i],
                    pitches: Vec::new(),
                }),
            }
            group_of[i] = groups.len() - 1;
        }
        let mut primary: Vec<usize> = (0..notes.len()).collect();
        for g in &mut groups {
            g.pitches = g.notes.iter().map(|&i| notes[i].pitch).collect();
            g.pitches.sort_unstable();
            g.pitches.dedup();
            // Notes are sorted by pitch within the group: unisons are adjacent.
            let mut k = 0;
            while k < g.notes.len() {
                let mut end = k + 1;
                while end < g.notes.len() && notes[g.notes[end]].pitch == notes[g.notes[k]].pitch {
                    end += 1;
                }
                // Grace notes are struck on their own, before the beat.
                let run: Vec<usize> = g.notes[k..end]
                    .iter()
                    .copied()
                    .filter(|&i| !notes[i].grace)
                    .collect();
                let best = run.iter().copied().max_by(|&a, &b| {
                    notes[a]
                        .duration_q
                        .total_cmp(&notes[b].duration_q)
                        .then(b.cmp(&a))
                });
                if let Some(best) = best {
                    for &i in &run {
                        primary[i] = best;
                    }
                }
                k = end;
            }
        }
        Ok(Self {
            notes,
            groups,
            group_of,
            primary,
        })
    }

    #[must_use]
    pub fn notes(&self) -> &[ScoreNote] {
        &self.notes
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.notes.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Number of distinct onsets.
    #[must_use]
    pub fn onset_count(&self) -> usize {
        self.groups.len()
    }

    /// The note played for note `i` (itself unless `i` doubles another
    /// voice's note in unison).
    #[must_use]
    pub fn primary(&self, i: usize) -> usize {
        self.primary[i]
    }

    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub(crate) fn group_of(&self, note: usize) -> usize {
        self.group_of[note]
    }

    /// Seconds per quarter at the notated tempo around group `g`.
    pub(crate) fn notated_spq(&self, g: usize) -> f64 {
        let gs = &self.groups;
        let (a, b) = if g + 1 < gs.len() {
            (g, g + 1)
        } else if g > 0 {
            (g - 1, g)
        } else {
            return 0.5;
        };
        let dq = gs[b].q - gs[a].q;
        let ds = gs[b].s - gs[a].s;
        if dq > 1e-9 && ds > 1e-9 {
            ds / dq
        } else {
            0.5
        }
    }
}

/// Validates performed notes and returns their order by (onset, pitch).
pub(crate) fn perf_order(perf: &[PerfNote]) -> Result<Vec<usize>, AssessmentError> {
    for (index, p) in perf.iter().enumerate() {
        if !p.onset_s.is_finite() {
            return Err(AssessmentError::BadPerfNote {
                index,
                field: "onset_s",
                value: p.onset_s,
            });
        }
        if !p.offset_s.is_finite() || p.offset_s < p.onset_s {
            return Err(AssessmentError::BadPerfNote {
                index,
                field: "offset_s",
                value: p.offset_s,
            });
        }
        if p.pitch > 127 {
            return Err(AssessmentError::BadPerfNote {
                index,
                field: "pitch",
                value: f64::from(p.pitch),
            });
        }
        if p.velocity > 127 {
            return Err(AssessmentError::BadPerfNote {
                index,
                field: "velocity",
                value: f64::from(p.velocity),
            });
        }
    }
    let mut order: Vec<usize> = (0..perf.len()).collect();
    order.sort_by(|&a, &b| {
        perf[a]
            .onset_s
            .total_cmp(&perf[b].onset_s)
            .then(perf[a].pitch.cmp(&perf[b].pitch))
    });
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_notes_by_onset() {
        let s = Score::new(vec![
            ScoreNote::simple(64, 1.0, 1.0),
            ScoreNote::simple(60, 0.0, 1.0),
            ScoreNote::simple(67, 0.0, 1.0),
        ])
        .unwrap();
        assert_eq!(s.onset_count(), 2);
        assert_eq!(s.groups()[0].pitches, vec![60, 67]);
        assert_eq!(s.group_of(0), 1);
        assert_eq!(s.primary(2), 2);
    }

    #[test]
    fn unisons_share_one_primary() {
        let s = Score::new(vec![
            ScoreNote::simple(60, 0.0, 0.5),
            ScoreNote::simple(60, 0.0, 2.0),
            ScoreNote::simple(64, 0.0, 1.0),
        ])
        .unwrap();
        assert_eq!((s.primary(0), s.primary(1), s.primary(2)), (1, 1, 2));
    }

    #[test]
    fn refuses_bad_notes() {
        assert_eq!(Score::new(vec![]), Err(AssessmentError::EmptyScore));
        let mut n = ScoreNote::simple(60, 0.0, 1.0);
        n.onset_q = f64::NAN;
        assert!(matches!(
            Score::new(vec![n]),
            Err(AssessmentError::BadScoreNote {
                field: "onset_q",
                ..
            })
        ));
        let bad = PerfNote::new(60, 1.0, 0.5, 60);
        assert!(matches!(
            perf_order(&[bad]),
            Err(AssessmentError::BadPerfNote {
                field: "offset_s",
                ..
            })
        ));
    }
}
