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
    let (mut dyn_x, mut dyn_y) = (Vec::new(), Vec::new());
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
            dyn_x.push(level);
            dyn_y.push(f64::from(perf[p].velocity));
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
    let dynamics_following = pearson(&dyn_x, &dyn_y);
    let rhythm_accuracy = all.rhythm_accuracy.unwrap_or(0.0);
    let dynamics_credit = match dynamics_following {
        Some(r) => r.max(0.0),
        None => (dynamics_range / 0.3).min(1.0),
    };
    let overall_score =
        100.0 * (0.6 * all.pitch_accuracy + 0.3 * rhythm_accuracy + 0.1 * dynamics_credit);
    let mut spreads: Vec<f64> = a
        .tempo
        .iter()
        .filter(|t| t.spread_s > 0.0)
        .map(|t| t.spread_s)
        .collect();
    let chord_spread_s = if spreads.is_empty() {
        None
    } else {
        Some(median(&mut spreads))
    };
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
        hand_balance,
    }
}
