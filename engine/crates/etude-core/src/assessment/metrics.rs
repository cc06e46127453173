//! Figures computed from an [`Assessment`]: the four headline metrics
//! (formulas in `docs/assessment.md`), per hand and per bar.

use super::align::{Assessment, Label};
use super::score::{Hand, PerfNote, Score};
use super::timing::median;

/// A note within this many seconds of its local tempo line is on time.
pub const ON_TIME_S: f64 = 0.05;
/// A note this far or further from its line is off (linear in between).
pub const OFF_TIME_S: f64 = 0.15;

/// Counts and figures for a set of notes (a hand, a bar, a bar's hand).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandFigures {
    pub matched: usize,
    pub wrong_pitch: usize,
    pub missed: usize,
    pub extra: usize,
    /// matched / (matched + wrong_pitch + missed + extra); 1 when empty.
    pub pitch_accuracy: f64,
    /// Mean on-time credit of the matched notes; `None` without any.
    pub rhythm_accuracy: Option<f64>,
    /// Mean signed timing deviation (positive = late), seconds.
    pub mean_dev_s: Option<f64>,
    /// Mean absolute timing deviation, seconds.
    pub mean_abs_dev_s: Option<f64>,
    /// Mean velocity of the played notes.
    pub mean_velocity: Option<f64>,
    /// Median spread of this hand's chords (its notes of an onset group,
    /// two or more played), seconds; for both hands, of each hand's.
    pub chord_spread_s: Option<f64>,
    timing_credit: f64,
    timed: usize,
    dev_sum: f64,
    abs_dev_sum: f64,
    velocity_sum: f64,
    played: usize,
}

impl HandFigures {
    fn add_label(&mut self, label: Label) {
        match label {
            Label::Match => self.matched += 1,
            Label::WrongPitch => self.wrong_pitch += 1,
            Label::Missed => self.missed += 1,
            Label::Extra => self.extra += 1,
        }
    }

    fn add_timing(&mut self, dev: f64) {
        self.timed += 1;
        self.timing_credit += on_time_credit(dev);
        self.dev_sum += dev;
        self.abs_dev_sum += dev.abs();
    }

    fn add_velocity(&mut self, v: u8) {
        self.played += 1;
        self.velocity_sum += f64::from(v);
    }

    fn finish(&mut self) {
        let total = self.matched + self.wrong_pitch + self.missed + self.extra;
        self.pitch_accuracy = if total == 0 {
            1.0
        } else {
            self.matched as f64 / total as f64
        };
        if self.timed > 0 {
            let n = self.timed as f64;
            self.rhythm_accuracy = Some(self.timing_credit / n);
            self.mean_dev_s = Some(self.dev_sum / n);
            self.mean_abs_dev_s = Some(self.abs_dev_sum / n);
        }
        if self.played > 0 {
            self.mean_velocity = Some(self.velocity_sum / self.played as f64);
        }
    }

    /// Score notes in this set that were not played right.
    #[must_use]
    pub fn errors(&self) -> usize {
        self.wrong_pitch + self.missed + self.extra
    }
}

/// 1 within [`ON_TIME_S`], 0 from [`OFF_TIME_S`], linear in between.
#[must_use]
pub fn on_time_credit(dev_s: f64) -> f64 {
    ((OFF_TIME_S - dev_s.abs()) / (OFF_TIME_S - ON_TIME_S)).clamp(0.0, 1.0)
}

/// One bar as played (a repeated bar appears once per pass).
#[derive(Debug, Clone, PartialEq)]
pub struct BarFigures {
    /// Measure number as printed.
    pub bar: i32,
    /// Position of the bar's first note in the unfolded score, quarters.
    pub start_q: f64,
    pub all: HandFigures,
    pub right: HandFigures,
    pub left: HandFigures,
    /// Median local tempo in the bar, quarters per minute.
    pub qpm: Option<f64>,
}

/// The headline metrics with their breakdowns.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub pitch_accuracy: f64,
    pub rhythm_accuracy: f64,
    /// (95th − 5th percentile of played velocities) / 127.
    pub dynamics_range: f64,
    /// Correlation of velocity with the marked dynamics (`None` when the
    /// score marks fewer than two levels).
    pub dynamics_following: Option<f64>,
    /// 0–100.
    pub overall_score: f64,
    pub all: HandFigures,
    pub right: HandFigures,
    pub left: HandFigures,
    pub bars: Vec<BarFigures>,
    /// Median chord spread of the onset groups with two or more notes played, s.
    pub chord_spread_s: Option<f64>,
    /// Median spread of one hand's chords (its notes of an onset group, two
    /// or more played), s: a melody played ahead of its accompaniment is
    /// expression, one hand's chord struck unevenly is not.
    pub hand_chord_spread_s: Option<f64>,
    /// Mean velocity right hand minus left hand.
    pub hand_balance: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let x = p * (sorted.len() - 1) as f64;
    let lo = x.floor() as usize;
    let hi = x.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo as f64)
}

fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len() as f64;
    if xs.len() < 3 {
        return None;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= 1e-12 || syy <= 1e-12 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Notes a stretch under one marking needs before its loudness counts.
const DYNAMICS_REGION_NOTES: usize = 6;

/// How the loudness follows the markings: Pearson r between the marked
/// level of each stretch under one marking and the median velocity of its
/// matched notes (`marked`: onset in quarters, level, velocity). Stretches,
/// not notes: within one marking a melody is voiced over its accompaniment
/// and accents stand out, so note by note the velocity hardly correlates
/// with the marking even in a professional's playing (r 0.0–0.1 over the
/// Vienna takes of Chopin op. 10 no. 3), while the stretches' medians do
/// (r 0.36–0.78). None with fewer than three stretches or one level; 0
/// when every stretch has the same median.
fn dynamics_following(marked: &mut [(f64, f64, f64)]) -> Option<f64> {
    marked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut levels, mut medians) = (Vec::new(), Vec::new());
    let mut start = 0;
    for k in 1..=marked.len() {
        if k < marked.len() && marked[k].1 == marked[start].1 {
            continue;
        }
        if k - start >= DYNAMICS_REGION_NOTES {
            let mut v: Vec<f64> = marked[start..k].iter().map(|m| m.2).collect();
            levels.push(marked[start].1);
            medians.push(median(&mut v));
        }
        start = k;
    }
    let flat = medians.windows(2).all(|w| w[0] == w[1]);
    let marked_apart = levels.windows(2).any(|w| w[0] != w[1]);
    if flat && marked_apart && levels.len() >= 3 {
        // One loudness whatever the markings ask: nothing followed.
        return Some(0.0);
    }
    pearson(&levels, &medians)
}

/// Computes every figure of an assessment of `perf` (the performed notes
/// as passed to [`assess`](super::assess)).
#[must_use]
pub fn metrics(score: &Score, a: &Assessment, perf: &[PerfNote]) -> Metrics {
    let notes = score.notes();
    // Bars in score order: a new pass through a bar whenever the printed
    // number changes along the unfolded score.
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_by(|&x, &y| notes[x].onset_q.total_cmp(&notes[y].onset_q));
    let mut bar_of = vec![0usize; notes.len()];
    let mut bars: Vec<BarFigures> = Vec::new();
    let mut bar_starts: Vec<f64> = Vec::new();
    for &i in &order {
        let n = &notes[i];
        if bars.last().map_or(true, |b| b.bar != n.bar) {
            bars.push(BarFigures {
                bar: n.bar,
                start_q: n.onset_q,
                all: HandFigures::default(),
                right: HandFigures::default(),
                left: HandFigures::default(),
                qpm: None,
            });
            bar_starts.push(n.onset_q);
        }
        bar_of[i] = bars.len() - 1;
    }
    let bar_at = |q: f64| bar_starts.partition_point(|&s| s <= q).saturating_sub(1);
    // Mean pitch of each hand per bar, to give extra notes a hand.
    let mut hand_pitch = vec![[(0.0f64, 0usize); 2]; bars.len()];
    for (i, n) in notes.iter().enumerate() {
        let h = usize::from(n.hand == Hand::Left);
        hand_pitch[bar_of[i]][h].0 += f64::from(n.pitch);
        hand_pitch[bar_of[i]][h].1 += 1;
    }

    let mut all = HandFigures::default();
    let mut hands = [HandFigures::default(), HandFigures::default()];
    let mut marked: Vec<(f64, f64, f64)> = Vec::new();
    let mut struck: Vec<(usize, usize, f64, usize)> = Vec::new();
    for r in a
        .notes
        .iter()
        .filter(|r| r.is_final && score.primary(r.score_note) == r.score_note)
    {
        let n = &notes[r.score_note];
        let h = usize::from(n.hand == Hand::Left);
        let b = &mut bars[bar_of[r.score_note]];
        let hb = if h == 0 { &mut b.right } else { &mut b.left };
        for f in [&mut all, &mut hands[h], &mut b.all, hb] {
            f.add_label(r.label);
            if let (Label::Match, Some(d)) = (r.label, r.timing_dev_s) {
                f.add_timing(d);
            }
            if let Some(p) = r.perf_note {
                f.add_velocity(perf[p].velocity);
            }
        }
        if let (Some(p), Some(level), Label::Match) = (r.perf_note, n.dynamic, r.label) {
            marked.push((n.onset_q, level, f64::from(perf[p].velocity)));
        }
        if let (Some(p), Label::Match, false) = (r.perf_note, r.label, n.grace) {
            struck.push((
                score.group_of(r.score_note),
                h,
                perf[p].onset_s,
                bar_of[r.score_note],
            ));
        }
    }
    for (i, p) in a.perf.iter().enumerate() {
        if p.label != Label::Extra {
            continue;
        }
        let bi = bar_at(p.score_q);
        let [(rs, rn), (ls, ln)] = hand_pitch[bi];
        let pitch = f64::from(perf[i].pitch);
        let h = match (rn, ln) {
            (0, 0) => usize::from(pitch < 60.0),
            (_, 0) => 0,
            (0, _) => 1,
            _ => usize::from((pitch - ls / ln as f64).abs() < (pitch - rs / rn as f64).abs()),
        };
        let b = &mut bars[bi];
        let hb = if h == 0 { &mut b.right } else { &mut b.left };
        for f in [&mut all, &mut hands[h], &mut b.all, hb] {
            f.add_label(Label::Extra);
            f.add_velocity(perf[i].velocity);
        }
    }
    // Tempo per bar: median of the tempo points inside it.
    let mut bar_qpm: Vec<Vec<f64>> = vec![Vec::new(); bars.len()];
    for t in &a.tempo {
        bar_qpm[bar_at(t.score_q)].push(t.qpm);
    }
    for (b, mut q) in bars.iter_mut().zip(bar_qpm) {
        if !q.is_empty() {
            b.qpm = Some(median(&mut q));
        }
        b.all.finish();
        b.right.finish();
        b.left.finish();
    }
    all.finish();
    for h in &mut hands {
        h.finish();
    }
    let mut vel: Vec<f64> = perf.iter().map(|p| f64::from(p.velocity)).collect();
    vel.sort_by(f64::total_cmp);
    let dynamics_range = if vel.is_empty() {
        0.0
    } else {
        (percentile(&vel, 0.95) - percentile(&vel, 0.05)) / 127.0
    };
    let dynamics_following = dynamics_following(&mut marked);
    let rhythm_accuracy = all.rhythm_accuracy.unwrap_or(0.0);
    let dynamics_credit = match dynamics_following {
        Some(r) => r.max(0.0),
        None => (dynamics_range / 0.3).min(1.0),
    };
    let overall_score =
        100.0 * (0.6 * all.pitch_accuracy + 0.3 * rhythm_accuracy + 0.1 * dynamics_credit);
    let chord_spread_s = median_of(a.tempo.iter().map(|t| t.spread_s).filter(|&s| s > 0.0));
    // (hand, spread) of each hand's chords, all and bar by bar.
    let mut chords: Vec<(usize, f64)> = Vec::new();
    let mut by_bar: Vec<Vec<(usize, f64)>> = vec![Vec::new(); bars.len()];
    for (bar, hand, spread) in hand_chords(&mut struck) {
        chords.push((hand, spread));
        by_bar[bar].push((hand, spread));
    }
    let spread_of = |chords: &[(usize, f64)], hand: Option<usize>| {
        median_of(
            chords
                .iter()
                .filter(|c| hand.map_or(true, |h| c.0 == h))
                .map(|c| c.1),
        )
    };
    let hand_chord_spread_s = spread_of(&chords, None);
    all.chord_spread_s = hand_chord_spread_s;
    for (h, figures) in hands.iter_mut().enumerate() {
        figures.chord_spread_s = spread_of(&chords, Some(h));
    }
    for (b, chords) in bars.iter_mut().zip(&by_bar) {
        b.all.chord_spread_s = spread_of(chords, None);
        b.right.chord_spread_s = spread_of(chords, Some(0));
        b.left.chord_spread_s = spread_of(chords, Some(1));
    }
    let [right, left] = hands;
    let hand_balance = match (right.mean_velocity, left.mean_velocity) {
        (Some(r), Some(l)) => Some(r - l),
        _ => None,
    };
    Metrics {
        pitch_accuracy: all.pitch_accuracy,
        rhythm_accuracy,
        dynamics_range,
        dynamics_following,
        overall_score,
        all,
        right,
        left,
        bars,
        chord_spread_s,
        hand_chord_spread_s,
        hand_balance,
    }
}

/// Each hand's chords: `struck` holds (onset group, hand, onset, bar) of
/// the matched notes; each group's notes of one hand, two or more, are a
/// chord. Returns (bar, hand, spread in seconds) per chord.
fn hand_chords(struck: &mut [(usize, usize, f64, usize)]) -> Vec<(usize, usize, f64)> {
    struck.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    struck
        .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .filter(|chord| chord.len() >= 2)
        .map(|chord| {
            (
                chord[0].3,
                chord[0].1,
                chord[chord.len() - 1].2 - chord[0].2,
            )
        })
        .collect()
}

fn median_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        None
    } else {
        Some(median(&mut v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight notes a stretch at the given levels; within each, a melody
    /// note (every other one) voiced 60 louder than the accompaniment.
    fn stretches(levels: &[f64], loudness: impl Fn(f64) -> f64) -> Vec<(f64, f64, f64)> {
        let mut out = Vec::new();
        for (k, &level) in levels.iter().enumerate() {
            for i in 0..8 {
                let voiced = if i % 2 == 0 { 60.0 } else { 0.0 };
                out.push(((k * 8 + i) as f64, level, loudness(level) + voiced));
            }
        }
        out
    }

    #[test]
    fn voicing_within_a_marking_does_not_hide_its_level() {
        let levels = [0.3, 0.7, 0.3, 0.85, 0.15];
        let mut followed = stretches(&levels, |l| 30.0 + 60.0 * l);
        let r = dynamics_following(&mut followed).unwrap();
        assert!(r > 0.95, "{r}");
        // Note by note the voicing drowns the markings.
        let (x, y): (Vec<f64>, Vec<f64>) = followed.iter().map(|m| (m.1, m.2)).unzip();
        assert!(pearson(&x, &y).unwrap() < 0.5);
        let mut reversed = stretches(&levels, |l| 90.0 - 60.0 * l);
        assert!(dynamics_following(&mut reversed).unwrap() < -0.95);
        let mut flat = stretches(&levels, |_| 70.0);
        assert_eq!(dynamics_following(&mut flat), Some(0.0));
    }

    #[test]
    fn a_hands_chord_is_measured_apart_from_the_other_hand() {
        // Right hand 30 ms ahead of the left (a melody lead), each hand's
        // chord within 10 ms; group 2 has one note a hand (no chord).
        let mut struck = vec![
            (0, 0, 1.00, 0),
            (0, 0, 1.01, 0),
            (0, 1, 1.03, 0),
            (0, 1, 1.04, 0),
            (1, 0, 2.00, 0),
            (1, 0, 2.004, 0),
            (1, 1, 2.03, 0),
            (1, 1, 2.03, 0),
            (1, 1, 2.035, 0),
            (2, 0, 3.0, 1),
            (2, 1, 3.2, 1),
        ];
        let chords = hand_chords(&mut struck);
        let spread = median_of(chords.iter().map(|c| c.2)).unwrap();
        // Spreads 10, 10, 4 and 5 ms: median 7.5 (the 30 ms lead is not one).
        assert!((spread - 0.0075).abs() < 1e-9, "{spread}");
        let right = median_of(chords.iter().filter(|c| c.1 == 0).map(|c| c.2)).unwrap();
        let left = median_of(chords.iter().filter(|c| c.1 == 1).map(|c| c.2)).unwrap();
        assert!((right - 0.007).abs() < 1e-9 && (left - 0.0075).abs() < 1e-9);
        assert!(chords.iter().all(|c| c.0 == 0));
        assert!(hand_chords(&mut [(0, 0, 1.0, 0), (1, 1, 1.2, 0)]).is_empty());
    }

    #[test]
    fn too_few_stretches_follow_nothing() {
        // Two stretches (a correlation of two points says nothing), and
        // short stretches (a few notes under a passing marking) left out.
        assert_eq!(
            dynamics_following(&mut stretches(&[0.3, 0.7], |l| 100.0 * l)),
            None
        );
        let mut short = stretches(&[0.3, 0.7, 0.3], |l| 100.0 * l);
        short.truncate(8 + 5);
        assert_eq!(dynamics_following(&mut short), None);
        assert_eq!(
            dynamics_following(&mut stretches(&[0.3; 4], |l| 100.0 * l)),
            None
        );
    }
}
