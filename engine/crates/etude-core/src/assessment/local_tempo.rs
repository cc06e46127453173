//! The local tempo of one segment of an attempt: for each onset group, the
//! time and tempo its *neighbouring* groups predict (what a note's timing
//! deviation and articulation are measured against), and the tempo curve.

use super::align::TempoPoint;
use super::score::{PerfNote, Score};
use super::timing::{biweight_line, median, TimeMap};

/// Smallest spread (robust standard deviation, seconds) assumed of onsets
/// around the local tempo line: below it, the biweight would cut off the
/// ordinary unevenness of real playing.
const TIMING_MIN_SCALE_S: f64 = 0.015;

/// Neighbouring onset groups each side added to `tempo_neighbours` for the
/// line a note's timing deviation is measured against (tricube-weighted).
/// Measured with the biweight's 8-scale cut-off (`bench.mistakes_eval`,
/// injected 80–200 ms shifts recovered within ±20 ms, rates 0.02 / 0.05 /
/// 0.1): seed 5 0.988 / 0.966 / 0.890 → 0.991 / 0.964 / 0.889, seed 11
/// 0.989 / 0.962 / 0.895 → 0.989 / 0.970 / 0.901; and the line follows real
/// playing more closely (untouched notes of the 88 takes: median |deviation|
/// 57.7 → 54.7 ms), the tempo curve and its feedback unchanged.
const DEVIATION_EXTRA_NEIGHBOURS: usize = 2;

/// Where a group's neighbours put it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Expected {
    /// The group's time on its neighbours' line, seconds.
    pub time_s: f64,
    /// Seconds per quarter of that line.
    pub spq: f64,
}

/// The local tempo of a segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalTempo {
    /// Per onset group of the segment (index `g - g0`): `None` when none of
    /// its notes was matched.
    pub expected: Vec<Option<Expected>>,
    /// One point per group with a matched onset, in score order.
    pub tempo: Vec<TempoPoint>,
}

/// The onsets matched to each of `n_groups` onset groups from `g0` on
/// (grace notes left out: they are played ahead of the beat), from a
/// segment's performed notes in playing order (`seg_order`) and the score
/// note each position was matched to.
pub(crate) fn matched_onsets_by_group(
    score: &Score,
    perf: &[PerfNote],
    seg_order: &[usize],
    pos_to_score: &[Option<usize>],
    g0: usize,
    n_groups: usize,
) -> Vec<Vec<f64>> {
    let notes = score.notes();
    let mut onsets = vec![Vec::new(); n_groups];
    for (&j, s) in seg_order.iter().zip(pos_to_score) {
        if let Some(i) = *s {
            if !notes[i].grace {
                onsets[score.group_of(i) - g0].push(perf[j].onset_s);
            }
        }
    }
    onsets
}

/// The local tempo of segment `segment`, whose onset groups sit at the
/// score positions `group_q` (quarters) and were played at `onsets` (the
/// matched, non-grace onsets of each group, seconds; reordered in place).
/// `map` and `default_spq` stand in where too few neighbours were played.
pub(crate) fn local_tempo(
    group_q: &[f64],
    onsets: &mut [Vec<f64>],
    tempo_neighbours: usize,
    map: &TimeMap,
    default_spq: f64,
    segment: usize,
) -> LocalTempo {
    let anchor_list: Vec<(usize, f64, f64)> = onsets
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let spread = v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - v.iter().copied().fold(f64::INFINITY, f64::min);
            (k, median(v), spread)
        })
        .collect();
    let mut out = LocalTempo {
        expected: vec![None; group_q.len()],
        tempo: Vec::with_capacity(anchor_list.len()),
    };
    let kn = tempo_neighbours;
    let kd = kn + DEVIATION_EXTRA_NEIGHBOURS;
    let mut pts = Vec::with_capacity(2 * kd + 1);
    let n_a = anchor_list.len();
    // 2·k neighbours of anchor `ai`, centred where the segment allows it.
    let window = |ai: usize, k: usize| {
        let lo = ai.saturating_sub(k).min(n_a.saturating_sub(2 * k + 1));
        lo..(lo + 2 * k + 1).min(n_a)
    };
    for (ai, &(g, time, spread)) in anchor_list.iter().enumerate() {
        let q0 = group_q[g];
        // The line a note's timing is measured against: tricube weights by
        // score distance over a wider window, so that the nearest
        // neighbours set it (it follows rubato) and the farther ones keep
        // a slip or two among the near ones from bending it.
        let near = &anchor_list[window(ai, kd)];
        let reach = near
            .iter()
            .map(|&(gg, _, _)| (group_q[gg] - q0).abs())
            .fold(0.0, f64::max)
            * 1.05
            + 1e-9;
        pts.clear();
        for &(gg, tt, _) in near {
            if gg != g {
                let u = (group_q[gg] - q0).abs() / reach;
                pts.push((group_q[gg], tt, (1.0 - u.powi(3)).powi(3)));
            }
        }
        let fit = biweight_line(&mut pts, q0, TIMING_MIN_SCALE_S);
        let (exp_t, spq) = match fit {
            Some((a, b)) if b > 0.0 => (a, b),
            _ => (map.time_at(q0), default_spq),
        };
        // The tempo curve: the kn neighbours each side and the group, evenly.
        pts.clear();
        for &(gg, tt, _) in &anchor_list[window(ai, kn)] {
            if gg != g {
                pts.push((group_q[gg], tt, 1.0));
            }
        }
        pts.push((q0, time, 1.0));
        let spq_with = match biweight_line(&mut pts, q0, TIMING_MIN_SCALE_S) {
            Some((_, b)) if b > 0.0 => b,
            _ => spq,
        };
        out.expected[g] = Some(Expected { time_s: exp_t, spq });
        out.tempo.push(TempoPoint {
            score_q: q0,
            time_s: time,
            qpm: 60.0 / spq_with,
            spread_s: spread,
            segment,
        });
    }
    out
}
