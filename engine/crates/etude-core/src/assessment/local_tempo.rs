//! The local tempo of one segment of an attempt: for each onset group, the
//! time and tempo its *neighbouring* groups predict (what a note's timing
//! deviation and articulation are measured against), and the tempo curve.

use super::align::TempoPoint;
use super::score::{PerfNote, Score};
use super::timing::{biweight_line, cauchy_line, median, TimeMap};

/// Smallest spread (robust standard deviation, seconds) assumed of onsets
/// around the local tempo line: below it, the robust reweighting would cut
/// off (or, with Cauchy's weight, discount) the ordinary unevenness of real
/// playing.
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

/// Adds to `onsets` (as from [`matched_onsets_by_group`]) the onset of each
/// note played with a wrong pitch (`wrong_pitch_pos`: per score note, its
/// position in `order`), grace notes and unison doublings left out. A wrong
/// note is struck with its group like a right one: dropping it took a
/// neighbour's evidence from the line, so a slip next to it bent the line
/// more. Measured (`bench.mistakes_eval`, injected shifts recovered within
/// ±20 ms, seed 5 at rates 0.05 / 0.1): 0.973 / 0.918 → 0.978 / 0.937;
/// pooled over seeds 1, 2, 5, 11 0.991 / 0.975 / 0.915 → 0.991 / 0.979 /
/// 0.938; rubato guard unchanged (55.2 ms), labels unchanged.
pub(crate) fn add_wrong_pitch_onsets(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    wrong_pitch_pos: &[Option<usize>],
    g0: usize,
    onsets: &mut [Vec<f64>],
) {
    let notes = score.notes();
    for (kg, group_onsets) in onsets.iter_mut().enumerate() {
        for &i in &score.groups()[g0 + kg].notes {
            if let (Some(j), false) = (wrong_pitch_pos[i], notes[i].grace) {
                if score.primary(i) == i {
                    group_onsets.push(perf[order[j]].onset_s);
                }
            }
        }
    }
}

/// Rounds of the robustness pass over a segment's single-note groups (see
/// [`deviation_lines`]); measured: 1 round 0.903, 2 rounds 0.909, 3 rounds
/// 0.908 at rate 0.1.
const ROBUST_ROUNDS: usize = 2;
/// A single-note group weighs nothing in its neighbours' lines once it is
/// this many times the segment's median |residual| off its own line
/// (bisquare); 2 and 4 were measured a little worse than 3.
const ROBUST_CUTOFF: f64 = 3.0;
/// Smallest median |residual| assumed (seconds): steady playing must not
/// make the cut-off so tight that ordinary unevenness is cut.
const ROBUST_MIN_MEDIAN_S: f64 = 0.02;

/// One onset group with a matched onset: its index in the segment, its
/// time (the median onset), the spread of its onsets and how many there are.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    k: usize,
    time: f64,
    spread: f64,
    size: usize,
}

fn anchors(onsets: &mut [Vec<f64>]) -> Vec<Anchor> {
    onsets
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let spread = v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - v.iter().copied().fold(f64::INFINITY, f64::min);
            Anchor {
                k,
                time: median(v),
                spread,
                size: v.len(),
            }
        })
        .collect()
}

/// The `2·k + 1` anchors around anchor `ai` of `n`, centred where the
/// segment allows it.
fn window(ai: usize, k: usize, n: usize) -> std::ops::Range<usize> {
    let lo = ai.saturating_sub(k).min(n.saturating_sub(2 * k + 1));
    lo..(lo + 2 * k + 1).min(n)
}

/// The line a note's timing is measured against, through the neighbours of
/// anchor `ai` only: tricube weights by score distance over a wider window,
/// so that the nearest neighbours set it (it follows rubato) and the
/// farther ones keep a slip or two among the near ones from bending it;
/// each neighbour's weight is also multiplied by its `robust` weight and by
/// the number of onsets its time is the median of. A chord's median hides
/// one slipped note (it moves by the gap to the next note), a single note's
/// time is the slip, so the line leans on the times that several notes back
/// and a slip among the single notes and pairs next to a note bends it less.
/// Measured (`bench.mistakes_eval`, injected shifts recovered within ±20 ms,
/// rates 0.02 / 0.05 / 0.1, pooled over seeds 1, 2, 5, 11): 0.991 / 0.979 /
/// 0.938 → 0.994 / 0.984 / 0.952 (worst seed at 0.1 0.930 → 0.948), rubato
/// guard 55.2 → 55.4 ms. The weight's form matters little: the square root
/// of the count 0.948 at 0.1, its 1.5th power 0.953 (55.5 ms), 1 / 0.7 / 2
/// / 3 / 4 for 1 / 2 / 3 / 4 / 5+ onsets 0.952, all equal 0.938.
/// The line is reweighted with Cauchy's weight ([`cauchy_line`]), not the
/// biweight: at the ends of a take (a final ritardando, the last chord held
/// a second, a long pickup) residuals are large and the biweight's cut-off
/// switched such a group in and out of the line as any neighbour moved,
/// tens of milliseconds with a residual of a second; shifted notes within
/// five groups of a segment's end were missed 15 % of the time, 4 % inside.
/// Measured as above: 0.995 / 0.984 / 0.955 (worst 0.949) → 0.995 / 0.984 /
/// 0.956 (worst 0.951), rubato guard 55.4 → 55.3 ms, labels unchanged
/// (Cauchy's c at 2 / 3 / 5 / 6 / 8 scales: 0.950 / 0.955 / 0.957 / 0.956 /
/// 0.956 at 0.1, guard 53.9 / 54.8 / 55.6 / 55.7 / 55.9 ms; Welsch's weight
/// at 3 / 5 scales 0.949 / 0.955).
/// A pair enters as its two onsets, each of weight 1 (see the loop): 0.995
/// / 0.984 / 0.956 (worst 0.951) → 0.994 / 0.985 / 0.958 (worst 0.951),
/// guard 55.3 ms unchanged; chords of three split the same way 0.951.
fn neighbour_line(
    group_q: &[f64],
    anchors: &[Anchor],
    robust: &[f64],
    ai: usize,
    k: usize,
    pts: &mut Vec<(f64, f64, f64)>,
) -> Option<(f64, f64)> {
    let q0 = group_q[anchors[ai].k];
    let near = window(ai, k, anchors.len());
    let reach = anchors[near.clone()]
        .iter()
        .map(|a| (group_q[a.k] - q0).abs())
        .fold(0.0, f64::max)
        * 1.05
        + 1e-9;
    pts.clear();
    for (a, &rw) in anchors[near.clone()].iter().zip(&robust[near]) {
        if a.k != anchors[ai].k {
            let u = (group_q[a.k] - q0).abs() / reach;
            let w = rw * (1.0 - u.powi(3)).powi(3);
            if a.size == 2 {
                // A pair's two onsets enter as points of their own (their
                // median is their mean, `spread` apart): the reweighting
                // can then discount the slipped one of the two, which the
                // mean, moved half the slip, hid.
                let half = 0.5 * a.spread;
                pts.push((group_q[a.k], a.time - half, w));
                pts.push((group_q[a.k], a.time + half, w));
            } else {
                pts.push((group_q[a.k], a.time, a.size as f64 * w));
            }
        }
    }
    cauchy_line(pts, q0, TIMING_MIN_SCALE_S)
}

/// Each anchor's neighbour line (`(time at the group, seconds per
/// quarter)`), with a robustness pass in the manner of Cleveland's robust
/// LOWESS, for single-note groups only: a group far off its own line (a
/// slip) is down-weighted (bisquare of its residual over `ROBUST_CUTOFF`
/// times the segment's median |residual|) in every *other* group's line,
/// then the lines are refitted. The line's own biweight cannot do this: its
/// scale comes from a handful of residuals of real rubato (about 50 ms
/// typical), so a neighbour shifted 80–200 ms keeps most of its weight. A
/// chord is left out of the pass: its median already hides one shifted
/// note, and a chord's time off the line is mostly the player's rubato,
/// which the line must follow (down-weighting chords, or two-note groups
/// whose notes are far apart, was measured worse).
fn deviation_lines(group_q: &[f64], anchors: &[Anchor], k: usize) -> Vec<Option<(f64, f64)>> {
    let n = anchors.len();
    let mut robust = vec![1.0; n];
    let mut pts = Vec::with_capacity(2 * (2 * k + 1));
    let mut fit_all = |robust: &[f64]| -> Vec<Option<(f64, f64)>> {
        (0..n)
            .map(|ai| neighbour_line(group_q, anchors, robust, ai, k, &mut pts))
            .collect()
    };
    let mut lines = fit_all(&robust);
    let mut res: Vec<f64> = Vec::with_capacity(n);
    for _ in 0..ROBUST_ROUNDS {
        res.clear();
        res.extend(
            anchors
                .iter()
                .zip(&lines)
                .filter_map(|(a, l)| l.map(|(t, _)| (a.time - t).abs())),
        );
        if res.is_empty() {
            break;
        }
        let cutoff = ROBUST_CUTOFF * median(&mut res).max(ROBUST_MIN_MEDIAN_S);
        for ((w, a), l) in robust.iter_mut().zip(anchors).zip(&lines) {
            if let (1, Some((t, _))) = (a.size, l) {
                *w = bisquare((a.time - t) / cutoff);
            }
        }
        lines = fit_all(&robust);
    }
    lines
}

/// Tukey's bisquare weight of a residual in units of the cut-off.
fn bisquare(u: f64) -> f64 {
    if u.abs() < 1.0 {
        (1.0 - u * u).powi(2)
    } else {
        0.0
    }
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
    let anchors = anchors(onsets);
    let kn = tempo_neighbours;
    let lines = deviation_lines(group_q, &anchors, kn + DEVIATION_EXTRA_NEIGHBOURS);
    let mut out = LocalTempo {
        expected: vec![None; group_q.len()],
        tempo: Vec::with_capacity(anchors.len()),
    };
    let mut pts = Vec::with_capacity(2 * kn + 1);
    for (ai, (a, line)) in anchors.iter().zip(lines).enumerate() {
        let q0 = group_q[a.k];
        let (exp_t, spq) = match line {
            Some((t, b)) if b > 0.0 => (t, b),
            _ => (map.time_at(q0), default_spq),
        };
        // The tempo curve: the kn neighbours each side and the group, evenly.
        pts.clear();
        for n in &anchors[window(ai, kn, anchors.len())] {
            if n.k != a.k {
                pts.push((group_q[n.k], n.time, 1.0));
            }
        }
        pts.push((q0, a.time, 1.0));
        let spq_with = match biweight_line(&mut pts, q0, TIMING_MIN_SCALE_S) {
            Some((_, b)) if b > 0.0 => b,
            _ => spq,
        };
        out.expected[a.k] = Some(Expected { time_s: exp_t, spq });
        out.tempo.push(TempoPoint {
            score_q: q0,
            time_s: a.time,
            qpm: 60.0 / spq_with,
            spread_s: a.spread,
            segment,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the line puts group `g` of a piece of `size`-note onset groups
    /// a quarter apart, played at 0.5 s a quarter with `offsets` added
    /// (the notes of a group 10 ms apart).
    fn expected_time(offsets: &[f64], size: usize, g: usize) -> f64 {
        let group_q: Vec<f64> = (0..offsets.len()).map(|k| k as f64).collect();
        let mut onsets: Vec<Vec<f64>> = offsets
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                (0..size)
                    .map(|i| 0.5 * k as f64 + t + 0.01 * i as f64)
                    .collect()
            })
            .collect();
        let map = TimeMap::new(&[], 0.5);
        let lt = local_tempo(&group_q, &mut onsets, 4, &map, 0.5, 0);
        lt.expected[g].unwrap().time_s
    }

    /// Uneven playing: a pseudo-random ±60 ms on every group, like the
    /// rubato of real takes (the line's own biweight then keeps most of a
    /// neighbouring slip's weight).
    fn uneven(n: usize) -> Vec<f64> {
        (0..n)
            .map(|k| 0.06 * (((k * 37 + 11) % 17) as f64 / 8.0 - 1.0))
            .collect()
    }

    /// How far group 16's line moves when both its neighbours, groups of
    /// `size` notes each, are played 150 ms late.
    fn line_moved_by_late_neighbours(size: usize) -> f64 {
        let clean = uneven(32);
        let mut late = clean.clone();
        late[15] += 0.15;
        late[17] += 0.15;
        expected_time(&late, size, 16) - expected_time(&clean, size, 16)
    }

    /// How far group 16's line moves when its neighbours 15 and 17 are
    /// two-note groups with one note played 150 ms late, the other groups
    /// `chord`-note chords, all played unevenly.
    fn line_moved_by_slipped_pairs(chord: usize) -> f64 {
        let offsets = uneven(32);
        let line_at_16 = |slip: f64| {
            let group_q: Vec<f64> = (0..32).map(|k| k as f64).collect();
            let mut onsets: Vec<Vec<f64>> = offsets
                .iter()
                .enumerate()
                .map(|(k, &t)| {
                    let size = if k == 15 || k == 17 { 2 } else { chord };
                    (0..size)
                        .map(|i| 0.5 * k as f64 + t + 0.01 * i as f64)
                        .collect()
                })
                .collect();
            onsets[15][1] += slip;
            onsets[17][1] += slip;
            let map = TimeMap::new(&[], 0.5);
            let lt = local_tempo(&group_q, &mut onsets, 4, &map, 0.5, 0);
            lt.expected[16].unwrap().time_s
        };
        line_at_16(0.15) - line_at_16(0.0)
    }

    /// How far group `g`'s line moves when group `slipped` is played `slip`
    /// late, in a piece of 24 two-note groups a quarter apart played
    /// unevenly, slowing over its last six groups and ending on a chord held
    /// `fermata` seconds longer.
    fn line_moved_near_a_held_end(g: usize, slipped: usize, slip: f64, fermata: f64) -> f64 {
        let n = 24;
        let mut offsets = uneven(n);
        for (k, o) in offsets.iter_mut().enumerate().skip(n - 6) {
            let r = (k + 6 - n) as f64;
            *o += 0.04 * r * r;
        }
        offsets[n - 1] += fermata;
        let with = |s: f64| {
            let mut o = offsets.clone();
            o[slipped] += s;
            expected_time(&o, 2, g)
        };
        with(slip) - with(0.0)
    }

    #[test]
    fn how_long_the_last_chord_is_held_does_not_swing_the_line() {
        // How far a neighbour played 150 ms late moves group 18's line, with
        // the last chord held 0.6–1.5 s: 13.3 to 7.6 ms with Cauchy's weight;
        // with the biweight the held chord sits near its cut-off, and the
        // line moves by -12.1 to 20.5 ms as it is held longer.
        let moved: Vec<f64> = [0.6, 0.8, 1.0, 1.2, 1.5]
            .iter()
            .map(|&f| line_moved_near_a_held_end(18, 19, 0.15, f))
            .collect();
        let spread = moved.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - moved.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(spread < 0.01, "{moved:?}");
    }

    #[test]
    fn a_slipped_note_of_a_pair_is_discounted() {
        // Each pair's onsets as points of their own: 18 ms; the pair's mean
        // as one point of weight 2: 24 ms.
        let moved = line_moved_by_slipped_pairs(2);
        assert!(moved.abs() < 0.021, "{moved}");
    }

    #[test]
    fn chords_outweigh_a_slipped_pair_next_to_a_note() {
        // Each neighbour weighs as many onsets as its time is the median
        // of: 14 ms; with every group weighing the same the line moves 24 ms.
        let moved = line_moved_by_slipped_pairs(4);
        assert!(moved.abs() < 0.018, "{moved}");
    }

    #[test]
    fn slipped_single_notes_do_not_bend_their_neighbours_line() {
        // Without the robustness pass the line moves 47 ms.
        let moved = line_moved_by_late_neighbours(1);
        assert!(moved.abs() < 0.02, "{moved}");
    }

    #[test]
    fn a_chord_off_the_line_keeps_its_weight() {
        // A whole chord late is the player's rubato: its neighbours' lines
        // still follow it (the robustness pass leaves chords alone).
        let moved = line_moved_by_late_neighbours(2);
        assert!(moved > 0.04, "{moved}");
    }
}
