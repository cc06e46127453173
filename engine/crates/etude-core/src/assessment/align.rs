//! Offline alignment of a whole attempt against the score.
//!
//! Three passes, all on integer-free, allocation-bounded dynamic programmes:
//!
//! 1. **Coarse path.** A DTW-like programme over (score onset group, performed
//!    note), performed notes in (onset, pitch) order. A note costs nothing in
//!    a group holding its pitch, `extra_cost` otherwise (half of that in a
//!    neighbouring group, for chord notes played out of order; three
//!    quarters for a pitch of the previous group struck there, a re-struck
//!    note as in a short restart that lingers); skipping
//!    groups costs `miss_cost` per skipped note; a *jump* anywhere (a restart
//!    from an earlier bar, a skip ahead) costs `jump_cost` once, plus
//!    `jump_cost_per_quarter` per quarter jumped over (of two copies of
//!    literally repeated music, the nearer is where a restart went). The
//!    states come in two layers by the parity of the jumps made, so a jump's
//!    fresh state survives beside the cheaper-for-now state that lingers in
//!    the group just played (a short restart). Moving on to a later group
//!    between two notes struck as one chord costs a little (a tie-breaker
//!    for repeated notes, which pitch alone reads as well one group off), and
//!    so does staying in a group across a gap of more than 0.25 s.
//!    The path is then sought again with rhythm: the first path's forward
//!    steps give the playing's pace (performed over notated seconds, the
//!    median over 16 visits either side, so a stretch it read too fast is
//!    timed by the playing around it), and moving on to a group sooner than
//!    0.8 of the notated time from the group visited before the one left
//!    (two steps, so one short step is not enough) costs up to 0.6, by how
//!    far. Pitch alone reads repeated notes and octaves as well one group a
//!    note, twice too fast; timing does not. The first path is kept when it
//!    costs no more under the second pass's costs (one state per group
//!    loses readings, and a restart read into the other copy of repeated
//!    music must not be what the rhythm cost buys). The second pass looks
//!    only within 16 groups of the first path (within 16 notes).
//!    Backward
//!    jumps split the attempt into segments that are aligned apart. A note
//!    played with the note before a backward jump (a chord) stays before it;
//!    where pitch alone ties between two places for a jump, timing decides:
//!    a restart begins after a pause, so the chord next to the jump goes to
//!    the reading whose gap beside it is ordinary playing at the local tempo.
//! 2. **Pitch-wise matching.** Within a segment, the groups' median onsets
//!    give a time map (score quarters → seconds; a group of which only grace
//!    notes were struck, a chord rolled as grace notes up to a main note
//!    left out, is at its last grace note); for each pitch, the score
//!    notes and the performed notes of that pitch are matched in order by an
//!    edit-distance programme whose match cost is the distance to the
//!    predicted time in units of `sigma_s`, and whose gaps cost `gap_cost`
//!    (missed / extra; a grace note left out costs three quarters of that).
//!    The map is rebuilt from the matches and the pass
//!    repeated. A group's window and anchor leave out an onset far from the
//!    line through the neighbouring groups when a nearby group that holds
//!    the pitch but has no onset of it is nearer (an omitted note's group
//!    must not keep the same pitch played a beat later).
//! 3. **Wrong pitches.** A missed note and an extra note at the same moment
//!    (within `wrong_pitch_window_s` of the note's predicted time; open-ended
//!    before the first group played and after the last; a group with no
//!    note played, whose time is only the map's guess, reaches to its
//!    played neighbours) and within
//!    `wrong_pitch_semitones` become one wrong pitch: cheapest pairs first,
//!    then augmenting paths so no pair blocks two. First, a score note taken
//!    by the same-pitch note of a neighbouring score note (struck a little
//!    early or late) is freed for the wrong note struck at its time when that
//!    note is nearer the neighbour's centre and the neighbour is missed.
//!
//! The last segment through a note gives its final outcome; a restart's
//! segment begins at its first onset group with a note struck, and a note of
//! the last group before a restart struck there but missed in the final pass
//! (a chord cut short) counts as struck, as does a note of a restart's first
//! group struck in an earlier pass when the restart struck under half of
//! that group (a restart begun on a fragment of its chord).
//!
//! Then timing (`local_tempo.rs`): each onset group's time is compared
//! with a line fitted to its *neighbours* only (tricube-weighted, each also
//! by how many onsets back its time; same segment), wrong pitches counted as
//! onsets, so a slip is measured against the local tempo and is not
//! absorbed by it. The fit is robust (Cauchy's weight), and a single note
//! far off its own neighbours' line is down-weighted in every other group's
//! line (a robustness pass): a slipped neighbour bends the line little.

use super::error::AssessmentError;
use super::local_tempo::{add_wrong_pitch_onsets, local_tempo, matched_onsets_by_group, Expected};
use super::score::{perf_order, Group, PerfNote, Score};
use super::timing::{fit_line, median, TimeMap};

/// Tuning of [`assess`]; the defaults are what the benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignConfig {
    pub extra_cost: f64,
    pub miss_cost: f64,
    pub jump_cost: f64,
    /// Added to `jump_cost` per quarter jumped over: ties go to the nearer
    /// place (restarts go back a few bars).
    pub jump_cost_per_quarter: f64,
    pub stay_cost: f64,
    pub sigma_s: f64,
    pub gap_cost: f64,
    pub max_dev_s: f64,
    pub grace_lead_s: f64,
    pub wrong_pitch_window_s: f64,
    pub wrong_pitch_semitones: u8,
    /// Neighbouring onset groups used on each side for the local tempo line.
    pub tempo_neighbours: usize,
    /// Passes of pitch-wise matching (each rebuilds the time map).
    pub passes: usize,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            extra_cost: 1.0,
            miss_cost: 0.6,
            jump_cost: 2.98,
            jump_cost_per_quarter: 0.002,
            stay_cost: 0.0,
            sigma_s: 0.1,
            gap_cost: 2.0,
            max_dev_s: 1.0,
            grace_lead_s: 0.1,
            wrong_pitch_window_s: 0.25,
            wrong_pitch_semitones: 2,
            tempo_neighbours: 4,
            passes: 3,
        }
    }
}

impl AlignConfig {
    fn validate(&self) -> Result<(), AssessmentError> {
        let positive = [
            ("extra_cost", self.extra_cost),
            ("miss_cost", self.miss_cost),
            ("jump_cost", self.jump_cost),
            ("sigma_s", self.sigma_s),
            ("gap_cost", self.gap_cost),
            ("max_dev_s", self.max_dev_s),
        ];
        for (name, value) in positive {
            if !value.is_finite() || value <= 0.0 {
                return Err(AssessmentError::BadParameter { name, value });
            }
        }
        let non_negative = [
            ("stay_cost", self.stay_cost),
            ("jump_cost_per_quarter", self.jump_cost_per_quarter),
            ("grace_lead_s", self.grace_lead_s),
            ("wrong_pitch_window_s", self.wrong_pitch_window_s),
        ];
        for (name, value) in non_negative {
            if !value.is_finite() || value < 0.0 {
                return Err(AssessmentError::BadParameter { name, value });
            }
        }
        if self.tempo_neighbours == 0 {
            return Err(AssessmentError::BadParameter {
                name: "tempo_neighbours",
                value: 0.0,
            });
        }
        if self.passes == 0 {
            return Err(AssessmentError::BadParameter {
                name: "passes",
                value: 0.0,
            });
        }
        Ok(())
    }
}

/// What happened to a score note or a performed note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// Played, right pitch.
    Match,
    /// Played at its moment with another pitch (a score note and a performed
    /// note share the label).
    WrongPitch,
    /// Score note not played.
    Missed,
    /// Performed note that is in no way in the score.
    Extra,
}

impl Label {
    /// `"match"`, `"wrong_pitch"`, `"missed"`, `"extra"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::WrongPitch => "wrong_pitch",
            Self::Missed => "missed",
            Self::Extra => "extra",
        }
    }
}

/// The outcome for one score note in one pass through it (a restart plays
/// some notes twice: each time is one `NoteResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct NoteResult {
    /// Index into the score's notes.
    pub score_note: usize,
    pub label: Label,
    /// Index into the performed notes as given.
    pub perf_note: Option<usize>,
    /// Onset minus the local tempo line's time for this note's onset group,
    /// in seconds (matched and wrong-pitch notes).
    pub timing_dev_s: Option<f64>,
    /// Performed duration over notated duration at the local tempo.
    pub duration_ratio: Option<f64>,
    /// Segment (0 = first pass; a restart starts a new one).
    pub segment: usize,
    /// `true` for the pass that counts: the last one through this note.
    pub is_final: bool,
}

/// The outcome for one performed note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerfResult {
    pub label: Label,
    pub score_note: Option<usize>,
    /// Where in the score the note falls, in quarters (through the time map).
    pub score_q: f64,
    pub segment: usize,
}

/// One point of the tempo curve: an onset group's time and the local tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoPoint {
    pub score_q: f64,
    pub time_s: f64,
    /// Quarter notes per minute of the local line.
    pub qpm: f64,
    /// Chord spread: last minus first onset of the group's matched notes,
    /// seconds (0 for a single note).
    pub spread_s: f64,
    pub segment: usize,
}

/// The whole result of [`assess`].
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// One entry per score note (its final pass) plus one per earlier pass
    /// of a restarted note that was played; sorted by score position.
    pub notes: Vec<NoteResult>,
    /// One entry per performed note, in the caller's order.
    pub perf: Vec<PerfResult>,
    pub tempo: Vec<TempoPoint>,
    /// Performed-note index at which each segment starts, in playing order.
    pub segment_starts: Vec<usize>,
}

const INF: f32 = f32::INFINITY;

/// A line through `pts` that ignores outliers: fitted once, then again
/// without the points further than `max(30 ms, 3 × median residual)` from
/// it (a note the coarse path put in the wrong group must not bend the line
/// its group is checked against). Outliers get weight 0 in `pts`.
fn robust_line(pts: &mut [(f64, f64, f64)], q0: f64) -> Option<(f64, f64)> {
    let (a, b) = fit_line(pts, q0)?;
    let mut res: Vec<f64> = pts
        .iter()
        .map(|&(q, s, _)| (s - (a + b * (q - q0))).abs())
        .collect();
    let limit = (3.0 * median(&mut res.clone())).max(0.03);
    let mut dropped = false;
    for (p, r) in pts.iter_mut().zip(res.iter_mut()) {
        if *r > limit {
            p.2 = 0.0;
            dropped = true;
        }
    }
    if !dropped {
        return Some((a, b));
    }
    fit_line(pts, q0).or(Some((a, b)))
}

/// Stage 1: the group of every performed note (in playing order) and the
/// segment boundaries.
fn coarse_path(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    cfg: &AlignConfig,
    pace: Option<&[f64]>,
    alt: Option<&[usize]>,
) -> Vec<usize> {
    let groups = score.groups();
    let g_n = groups.len();
    let m = order.len();
    if m == 0 {
        return Vec::new();
    }
    // cum[g]: number of score notes before group g.
    let mut cum = Vec::with_capacity(g_n + 1);
    cum.push(0.0f32);
    for g in groups {
        let last = *cum.last().unwrap_or(&0.0);
        cum.push(last + g.notes.len() as f32);
    }
    let extra = cfg.extra_cost as f32;
    let miss = cfg.miss_cost as f32;
    // Per group, a bit per pitch (of the first 32) that a grace note and a
    // main note share: struck twice in one visit. Its second strike is kept
    // in the bit 32 places up, free in a group of at most 32 pitches.
    let twice: Vec<u64> = groups
        .iter()
        .map(|grp| {
            if grp.pitches.len() > 32 {
                return 0;
            }
            let notes = score.notes();
            grp.pitches
                .iter()
                .enumerate()
                .filter(|&(_, &p)| {
                    let of_pitch = || grp.notes.iter().filter(|&&i| notes[i].pitch == p);
                    of_pitch().any(|&i| notes[i].grace) && of_pitch().any(|&i| !notes[i].grace)
                })
                .fold(0u64, |m, (k, _)| m | (1u64 << k))
        })
        .collect();
    let jump = cfg.jump_cost as f32;
    let stay = cfg.stay_cost as f32;
    // Cost of note `pitch` in group `g` given the group's pitches already
    // struck in this visit (`used`, a bit per pitch of the group): a pitch
    // struck twice in one visit is an extra note, unless a grace note and a
    // main note of the group share it. A pitch of a neighbouring
    // group costs half (a chord's notes played out of order); one of the
    // previous group already struck in the visit just before this one
    // (`before`, its bits) costs `RESTRUCK_SHARE`: a note played again, as
    // when a short restart re-strikes the notes before the stop, or an
    // ornament.
    let local = |g: usize, pitch: u8, used: u64, before: u64| -> (f32, u64) {
        if let Ok(k) = groups[g].pitches.binary_search(&pitch) {
            let bit = if k < 64 { 1u64 << k } else { 0 };
            if used & bit == 0 {
                return (0.0, used | bit);
            }
            // A grace note on the pitch of a main note of its group (a turn
            // ending on the main note): the group strikes the pitch twice.
            if twice[g] & bit != 0 && used & (bit << 32) == 0 {
                return (0.0, used | (bit << 32));
            }
            return (extra, used);
        }
        let restruck = g > 0
            && groups[g - 1]
                .pitches
                .binary_search(&pitch)
                .is_ok_and(|k| k < 64 && before & (1u64 << k) != 0);
        if restruck {
            (RESTRUCK_SHARE * extra, used)
        } else if (g > 0 && groups[g - 1].has_pitch(pitch))
            || (g + 1 < g_n && groups[g + 1].has_pitch(pitch))
        {
            (0.5 * extra, used)
        } else {
            (extra, used)
        }
    };
    let per_q = cfg.jump_cost_per_quarter as f32;
    // Two layers of states, by the parity of the jumps made so far: a jump
    // goes to the other layer, playing on stays in the same. With one layer,
    // each group would keep only the cheaper state at each note, and
    // lingering in the group just played (each re-struck note an extra) is
    // cheaper at the first re-struck notes than a jump back, whose fresh
    // state pays off only over the next ones: a short restart was lost.
    // `back` holds the predecessor as `group << 1 | layer`.
    let mut back = vec![0u32; 2 * g_n * m];
    let mut prev = [vec![INF; g_n], vec![INF; g_n]];
    let mut cur = [vec![INF; g_n], vec![INF; g_n]];
    let mut prev_used = [vec![0u64; g_n], vec![0u64; g_n]];
    let mut cur_used = [vec![0u64; g_n], vec![0u64; g_n]];
    // Pitches of the previous group struck in the visit just before (bits).
    let mut prev_before = [vec![0u64; g_n], vec![0u64; g_n]];
    let mut cur_before = [vec![0u64; g_n], vec![0u64; g_n]];
    let mut sources = [vec![(INF, 0usize); g_n], vec![(INF, 0usize); g_n]];
    // Onset of the first note of each state's visit to its group (for the
    // rhythm cost of moving on).
    let t0 = perf[order[0]].onset_s;
    let mut prev_entry = [vec![t0; g_n], vec![t0; g_n]];
    let mut cur_entry = [vec![t0; g_n], vec![t0; g_n]];
    // The group visited before the state's group and its first onset
    // (`NONE`: the visit began the path or followed a jump).
    const NONE: usize = usize::MAX;
    let mut prev_last = [vec![(NONE, t0); g_n], vec![(NONE, t0); g_n]];
    let mut cur_last = [vec![(NONE, t0); g_n], vec![(NONE, t0); g_n]];
    // Moving on to `g` at note `j` from a state whose previous visit was
    // `last`: timed over the two steps from there, so one short step (a
    // note of the next chord struck early, an ornament) is not enough.
    let rush = |j: usize, g: usize, last: (usize, f64)| -> f32 {
        match pace {
            Some(pace) if last.0 != NONE => rush_cost(
                perf[order[j]].onset_s - last.1,
                (groups[g].s - groups[last.0].s) * pace[j],
            ),
            _ => 0.0,
        }
    };
    // The second pass looks only near the first path (`BAND_GROUPS` either
    // side of where it went within `BAND_NOTES` notes): it re-reads slides
    // of a few groups, and work stays bounded.
    let band: Vec<(usize, usize)> = match alt {
        Some(alt) if alt.len() == m => (0..m)
            .map(|j| {
                let win = &alt[j.saturating_sub(BAND_NOTES)..(j + BAND_NOTES + 1).min(m)];
                let lo = win.iter().copied().min().unwrap_or(0);
                let hi = win.iter().copied().max().unwrap_or(g_n - 1);
                (
                    lo.saturating_sub(BAND_GROUPS),
                    (hi + BAND_GROUPS).min(g_n - 1),
                )
            })
            .collect(),
        _ => vec![(0, g_n - 1); m],
    };
    let p0 = perf[order[0]].pitch;
    for g in 0..g_n {
        let (c, used) = local(g, p0, 0, 0);
        prev[0][g] = c + (miss * cum[g]).min(jump);
        prev_used[0][g] = used;
    }
    let key = |g: usize, layer: usize| ((g << 1) | layer) as u32;
    for j in 1..m {
        let pitch = perf[order[j]].pitch;
        let t = perf[order[j]].onset_s;
        let gap = t - perf[order[j - 1]].onset_s;
        let split = if gap < SPLIT_CHORD_S { SPLIT_COST } else { 0.0 };
        let late = if gap > STAY_GAP_S { SPLIT_COST } else { 0.0 };
        for layer in 0..2 {
            jump_sources(&prev[layer], groups, per_q, &mut sources[layer]);
        }
        // adv[layer] = min over g' < g of prev[layer][g'] - miss * cum[g' + 1]
        let mut adv = [(INF, 0usize); 2];
        let row = 2 * j * g_n;
        let (lo, hi) = band[j];
        for g in 0..g_n {
            if g < lo || g > hi {
                for layer in 0..2 {
                    cur[layer][g] = INF;
                    let cand = prev[layer][g] - miss * cum[g + 1];
                    if cand < adv[layer].0 {
                        adv[layer] = (cand, g);
                    }
                }
                continue;
            }
            let (fresh_local, fresh_used) = local(g, pitch, 0, 0);
            for layer in 0..2 {
                let stay_before = prev_before[layer][g];
                let (stay_local, stay_used) = local(g, pitch, prev_used[layer][g], stay_before);
                let mut c = prev[layer][g] + stay + stay_local + late;
                let mut used = stay_used;
                let mut before = stay_before;
                let mut from = key(g, layer);
                let mut entry = prev_entry[layer][g];
                let mut last = prev_last[layer][g];
                // Moving on: from the cheapest earlier group (skipping the
                // ones between) and, with a rhythm cost, from the group just
                // before, whose timing may fit where the cheapest's does not.
                let adv_from = adv[layer].1;
                let mut cands = [(adv[layer].0 + miss * cum[g], adv_from), (INF, 0)];
                if pace.is_some() && g > 0 && adv_from + 1 != g {
                    cands[1] = (prev[layer][g - 1], g - 1);
                }
                for (base, src) in cands {
                    // The other terms are not negative: no need to price
                    // a candidate that cannot win.
                    if base > c + 1e-5 {
                        continue;
                    }
                    let adv_before = if src + 1 == g {
                        prev_used[layer][src]
                    } else {
                        0
                    };
                    let (adv_local, adv_used) = local(g, pitch, 0, adv_before);
                    let a = base + adv_local + split + rush(j, g, prev_last[layer][src]);
                    // On a tie, entering the group afresh wins: it leaves more
                    // of the group's notes free for what follows.
                    if a < c || (a <= c + 1e-5 && adv_used.count_ones() < used.count_ones()) {
                        c = a;
                        from = key(src, layer);
                        used = adv_used;
                        before = adv_before;
                        entry = t;
                        last = (src, prev_entry[layer][src]);
                    }
                }
                let (src_cost, src_g) = sources[1 - layer][g];
                if src_cost + jump + fresh_local + split < c {
                    c = src_cost + jump + fresh_local + split;
                    from = key(src_g, 1 - layer);
                    used = fresh_used;
                    before = 0;
                    entry = t;
                    last = (NONE, t);
                }
                cur[layer][g] = c;
                cur_used[layer][g] = used;
                cur_before[layer][g] = before;
                cur_entry[layer][g] = entry;
                cur_last[layer][g] = last;
                back[row + 2 * g + layer] = from;
                let cand = prev[layer][g] - miss * cum[g + 1];
                if cand < adv[layer].0 {
                    adv[layer] = (cand, g);
                }
            }
        }
        std::mem::swap(&mut prev, &mut cur);
        std::mem::swap(&mut prev_used, &mut cur_used);
        std::mem::swap(&mut prev_before, &mut cur_before);
        std::mem::swap(&mut prev_entry, &mut cur_entry);
        std::mem::swap(&mut prev_last, &mut cur_last);
    }
    let total = cum[g_n];
    let (mut end, mut best) = (0u32, INF);
    for (layer, costs) in prev.iter().enumerate() {
        for (g, &v) in costs.iter().enumerate() {
            let c = v + (miss * (total - cum[g + 1])).min(jump);
            if c < best {
                best = c;
                end = key(g, layer);
            }
        }
    }
    let mut path = vec![0usize; m];
    let mut at = end as usize;
    for j in (0..m).rev() {
        path[j] = at >> 1;
        if j > 0 {
            at = back[2 * j * g_n + at] as usize;
        }
    }
    // The programme keeps one state per group and layer, so with the rhythm
    // cost it may lose a reading that is cheaper in full (a restart read
    // into the other copy of repeated music): the first pass's path is kept
    // when it costs no more, priced the same way.
    if let Some(alt) = alt {
        if alt.len() == m {
            let price = |path: &[usize]| -> f32 {
                let g0 = path[0];
                let (c0, mut used) = local(g0, p0, 0, 0);
                let mut cost = c0 + (miss * cum[g0]).min(jump);
                let mut before = 0u64;
                let mut entry = t0;
                let mut last = (NONE, t0);
                for j in 1..m {
                    let (g, gp) = (path[j], path[j - 1]);
                    let pitch = perf[order[j]].pitch;
                    let t = perf[order[j]].onset_s;
                    let gap = t - perf[order[j - 1]].onset_s;
                    let split = if gap < SPLIT_CHORD_S { SPLIT_COST } else { 0.0 };
                    if g == gp {
                        let late = if gap > STAY_GAP_S { SPLIT_COST } else { 0.0 };
                        let (c, u) = local(g, pitch, used, before);
                        cost += c + stay + late;
                        used = u;
                        continue;
                    }
                    let dq = (groups[g].q - groups[gp].q).abs() as f32;
                    let (fresh, fresh_used) = local(g, pitch, 0, 0);
                    let by_jump = jump + per_q * dq + fresh + split;
                    let mut step = (by_jump, fresh_used, 0u64, (NONE, t));
                    if g > gp {
                        let adv_before = if gp + 1 == g { used } else { 0 };
                        let (c, u) = local(g, pitch, 0, adv_before);
                        let a = miss * (cum[g] - cum[gp + 1]) + c + split + rush(j, g, last);
                        if a <= by_jump {
                            step = (a, u, adv_before, (gp, entry));
                        }
                    }
                    cost += step.0;
                    used = step.1;
                    before = step.2;
                    last = step.3;
                    entry = t;
                }
                cost + (miss * (total - cum[path[m - 1] + 1])).min(jump)
            };
            if price(alt) <= price(&path) {
                return alt.to_vec();
            }
        }
    }
    path
}

/// Two notes struck closer together than this were played as one chord:
/// moving on to a later onset group between them costs `SPLIT_COST`. Pitch
/// alone often ties between readings of repeated notes (an octave repeated
/// with one of its notes left out reads as well one group behind, every
/// octave split between two groups); the chords the player struck decide.
/// Only a tie-breaker: at 0.1 a few dozen splits along a misread stretch
/// outweighed a jump, and whole passages went to the score's other copy.
const SPLIT_CHORD_S: f64 = 0.07;
const SPLIT_COST: f32 = 0.01;

/// Staying in a group across a gap longer than this costs `SPLIT_COST`: a
/// note of a pitch that the group and the next both hold, struck well after
/// the group's chord, goes to the next (pitch alone ties, and the tie rule
/// at the next note would keep it in the group before).
const STAY_GAP_S: f64 = 0.25;

/// Moving on to a later group sooner than `RUSH_SHARE` of the time the
/// notated distance takes at the playing's pace costs `RUSH_COST` per
/// halving below that share (at most two). See [`playing_pace`]. Chosen on
/// `mistakes_eval --offline-only --seed 1 2 5 11` (pooled missed P at
/// 0.02 / 0.05 / 0.1): 0.5 / 0.1 0.975 / 0.972 / 0.963, 0.6 / 0.3 0.976 /
/// 0.975 / 0.967, 0.7 / 0.3 0.978 / 0.977 / 0.967, 0.8 / 0.3 0.979 / 0.976 /
/// 0.970, 0.8 / 0.5 0.955 / 0.966 / 0.970, 0.9 / 0.3 0.978 / 0.976 / 0.969,
/// 1.0 / 0.3 0.977 / 0.965 / 0.969 (none 0.973 / 0.972 / 0.962).
const RUSH_SHARE: f64 = 0.8;
const RUSH_COST: f32 = 0.3;
/// Softens the ratio for very short distances (grace notes, a rolled chord).
const RUSH_SOFT_S: f64 = 0.03;

fn rush_cost(dt: f64, expected: f64) -> f32 {
    if expected <= 0.0 {
        return 0.0;
    }
    let r = (dt.max(0.0) + RUSH_SOFT_S) / (expected + RUSH_SOFT_S);
    if r >= RUSH_SHARE {
        return 0.0;
    }
    RUSH_COST * ((RUSH_SHARE / r).log2().min(2.0) as f32)
}

/// Whether `path` anywhere moves on to a group at a rhythm cost (see
/// `coarse_path`'s `rush`: timed from the group visited before, forward
/// steps only, none just after a jump).
fn rushed(score: &Score, perf: &[PerfNote], order: &[usize], path: &[usize], pace: &[f64]) -> bool {
    let groups = score.groups();
    let Some(&g0) = path.first() else {
        return false;
    };
    // (group, first onset) of the visit before the current one, and of
    // the current one; `None` after a jump.
    let mut last: Option<(usize, f64)> = None;
    let mut cur = (g0, perf[order[0]].onset_s);
    for j in 1..path.len() {
        let (g, t) = (path[j], perf[order[j]].onset_s);
        if g == cur.0 {
            continue;
        }
        if g > cur.0 {
            if let Some((lg, lt)) = last {
                if rush_cost(t - lt, (groups[g].s - groups[lg].s) * pace[j]) > 0.0 {
                    return true;
                }
            }
            last = Some(cur);
        } else {
            last = None;
        }
        cur = (g, t);
    }
    false
}

/// The second coarse pass's band: groups either side of the first path's,
/// within this many notes. 8 / 8 lost a few slides (missed P seed 11 at
/// 0.05 0.976 → 0.972); 16 / 16 gives the whole programme's figures at
/// 18–20 µs/note in `assess_eval` rather than 25–28.
const BAND_GROUPS: usize = 16;
const BAND_NOTES: usize = 16;

/// Visits of the first path on each side whose pace is pooled.
const PACE_VISITS: usize = 16;

/// Per performed note (in playing order), the playing's pace: performed
/// seconds per notated second, the median over the forward steps of the
/// first coarse path between visits near the note's own. A wide window, so
/// a stretch the first path read too fast (repeated notes, one group per
/// note) is timed by the playing around it.
fn playing_pace(score: &Score, perf: &[PerfNote], order: &[usize], path: &[usize]) -> Vec<f64> {
    let groups = score.groups();
    let m = path.len();
    // (group, first onset) per visit, and each note's visit.
    let mut visits: Vec<(usize, f64)> = Vec::new();
    let mut visit_of = Vec::with_capacity(m);
    for j in 0..m {
        if j == 0 || path[j] != path[j - 1] {
            visits.push((path[j], perf[order[j]].onset_s));
        }
        visit_of.push(visits.len() - 1);
    }
    // Pace of the step into each visit (NaN: none).
    let steps: Vec<f64> = (0..visits.len())
        .map(|k| {
            if k == 0 {
                return f64::NAN;
            }
            let ((g0, t0), (g1, t1)) = (visits[k - 1], visits[k]);
            let ds = groups[g1].s - groups[g0].s;
            if g1 > g0 && ds > 1e-6 && t1 > t0 {
                (t1 - t0) / ds
            } else {
                f64::NAN
            }
        })
        .collect();
    let mut window = Vec::with_capacity(2 * PACE_VISITS + 1);
    let per_visit: Vec<f64> = (0..visits.len())
        .map(|k| {
            window.clear();
            let lo = k.saturating_sub(PACE_VISITS);
            let hi = (k + PACE_VISITS + 1).min(visits.len());
            window.extend(steps[lo..hi].iter().copied().filter(|x| x.is_finite()));
            if window.is_empty() {
                1.0
            } else {
                median(&mut window)
            }
        })
        .collect();
    visit_of.iter().map(|&k| per_visit[k]).collect()
}

/// Share of `extra_cost` for a note re-striking a pitch of the previous
/// onset group struck there (see `coarse_path`).
const RESTRUCK_SHARE: f32 = 0.75;

/// For each group `g`, the cheapest group `g' != g` to jump from and its
/// cost: `prev[g']` plus `per_q` per quarter between the two (two sweeps, a
/// distance transform). The small cost per quarter makes the nearer of two
/// otherwise equal jumps win: a player goes back a few bars, and music that
/// the score repeats literally must not send a restart to the earlier copy.
fn jump_sources(prev: &[f32], groups: &[Group], per_q: f32, out: &mut [(f32, usize)]) {
    let g_n = prev.len();
    // From the left: min over g' < g.
    let mut run = (INF, 0usize);
    for g in 0..g_n {
        out[g] = run;
        if g + 1 < g_n {
            if prev[g] < run.0 {
                run = (prev[g], g);
            }
            run.0 += per_q * (groups[g + 1].q - groups[g].q) as f32;
        }
    }
    // From the right: min over g' > g.
    let mut run = (INF, 0usize);
    for g in (0..g_n).rev() {
        if run.0 < out[g].0 {
            out[g] = run;
        }
        if g > 0 {
            if prev[g] < run.0 {
                run = (prev[g], g);
            }
            run.0 += per_q * (groups[g].q - groups[g - 1].q) as f32;
        }
    }
}

/// Moves a backward jump of the coarse path past the notes that end the
/// chord before it: a note played with the previous note (nearer it than the
/// next note, within `CHORD_S`) whose pitch the previous note's group holds
/// stays in that group (the path ties between the two; the restart starts
/// after the chord, not a group before the bar the player went back to).
fn keep_chords_before_jumps(score: &Score, perf: &[PerfNote], order: &[usize], path: &mut [usize]) {
    let groups = score.groups();
    let m = path.len();
    let mut j = 1;
    while j + 1 < m {
        if path[j] < path[j - 1] {
            let g = path[j - 1];
            let p = &perf[order[j]];
            let before = p.onset_s - perf[order[j - 1]].onset_s;
            let after = perf[order[j + 1]].onset_s - p.onset_s;
            let taken = (0..j)
                .rev()
                .take_while(|&k| path[k] == g)
                .any(|k| perf[order[k]].pitch == p.pitch);
            if before <= CHORD_S && before < after && groups[g].has_pitch(p.pitch) && !taken {
                path[j] = g;
            }
        }
        j += 1;
    }
}

/// Onsets closer than this follow each other in one chord (see
/// [`place_jumps_at_pauses`]).
const CHORD_S: f64 = 0.1;

/// Moves each backward jump of the coarse path to the pause it was made in.
/// Pitch alone often ties between two places for it: the chord struck just
/// before the stop may be the forward pass's next group or the restart's
/// first, when both hold its pitches (music that repeats). A restart begins
/// after a pause, so the chord goes to the reading whose gap next to it is
/// ordinary playing at the local tempo: after the jump, a chord that the
/// next forward group holds moves before the jump when the gap before it is
/// nearer its notated length than the gap after it is; before the jump, a
/// chord that the group before the restart's first holds moves after it in
/// the opposite case, and one that the restart's first group itself holds
/// (a bass struck before its chord) when the gap before it is the longer.
/// A chord after the jump that the restart's reading splits between groups
/// may move before it when the next forward group holds all its notes but
/// one (a chord cut short by the stop with a wrong note in it, which by
/// pitch alone reads as well as the first notes of two of the restart's
/// groups). Repeated until none moves.
fn place_jumps_at_pauses(score: &Score, perf: &[PerfNote], order: &[usize], path: &mut [usize]) {
    let groups = score.groups();
    let m = path.len();
    let onset = |j: usize| perf[order[j]].onset_s;
    // chunk_start[j]: first note of the chord (onsets within CHORD_S) holding j.
    let mut chunk_start = vec![0usize; m];
    for j in 1..m {
        chunk_start[j] = if onset(j) - onset(j - 1) <= CHORD_S {
            chunk_start[j - 1]
        } else {
            j
        };
    }
    let chunk_end = |j: usize| {
        (j..m)
            .find(|&k| chunk_start[k] != chunk_start[j])
            .unwrap_or(m)
    };
    let holds_all = |range: std::ops::Range<usize>, g: usize| {
        range
            .into_iter()
            .all(|k| groups[g].has_pitch(perf[order[k]].pitch))
    };
    // All the notes but one (a chord with a wrong note in it).
    let holds_most = |range: std::ops::Range<usize>, g: usize| {
        let n = range.len();
        let held = range
            .into_iter()
            .filter(|&k| groups[g].has_pitch(perf[order[k]].pitch))
            .count();
        held > 0 && held + 1 >= n
    };
    // Positions before `settled` were placed by an earlier jump's moves.
    let mut settled = 1;
    for jump in 1..m {
        if jump < settled || path[jump] >= path[jump - 1] {
            continue;
        }
        // A jump inside a chord: when the restart's first group holds the
        // chord's notes before the jump too, the whole chord is the restart's
        // (its first notes were taken for the forward pass's).
        let start = chunk_start[jump];
        if start < jump {
            let g_r = path[jump];
            if start == 0 || path[start - 1] <= g_r || !holds_all(start..jump, g_r) {
                continue;
            }
            path[start..jump].fill(g_r);
        }
        let mut j = start;
        // Once a chord has moved one way, the next may only move the same way.
        let (mut may_forward, mut may_back) = (true, true);
        loop {
            let g = path[j - 1];
            let spq = local_spq(score, perf, order, path, chunk_start[j - 1]);
            let b1 = chunk_end(j);
            // The chord after the jump as the forward pass's next group (with
            // a wrong note in it when the restart's reading splits it).
            if may_forward
                && b1 < m
                && g + 1 < groups.len()
                && path[b1] <= g
                && (holds_all(j..b1, g + 1)
                    || (path[j..b1].iter().any(|&x| x != path[j]) && holds_most(j..b1, g + 1)))
            {
                let t_g = group_start(perf, order, path, j);
                let e_forward = gap_error(onset(j) - t_g, (groups[g + 1].q - groups[g].q) * spq);
                let mut e_restart = gap_error(
                    onset(b1) - onset(j),
                    (groups[path[b1]].q - groups[path[j]].q) * spq,
                );
                let g_r = path[j];
                if path[j..b1].iter().all(|&x| x == g_r) && path[b1] != g_r {
                    e_restart += fragment_penalty(&groups[g_r], b1 - j);
                }
                if e_forward < e_restart {
                    path[j..b1].fill(g + 1);
                    j = b1;
                    may_back = false;
                    continue;
                }
            }
            // The chord before the jump as the restart's first group.
            let a0 = chunk_start[j - 1];
            let g_r = path[j];
            if may_back && a0 > 0 && g_r > 0 && path[a0 - 1] > g_r - 1 && holds_all(a0..j, g_r - 1)
            {
                let t_prev = group_start(perf, order, path, a0);
                let dq = groups[path[a0]].q - groups[path[a0 - 1]].q;
                let e_forward = gap_error(onset(a0) - t_prev, dq * spq);
                let e_restart = gap_error(
                    onset(j) - onset(a0),
                    (groups[g_r].q - groups[g_r - 1].q) * spq,
                ) + fragment_penalty(&groups[g_r - 1], j - a0);
                if e_restart < e_forward {
                    path[a0..j].fill(g_r - 1);
                    j = a0;
                    may_forward = false;
                    continue;
                }
            }
            // The chord before the jump as the first notes of the restart's
            // first group: a chord spread wider than `CHORD_S` (a bass note
            // before the rest), whose first notes fit the forward pass's
            // next group too (music that repeats), is split by the jump. The
            // restart begins after a pause: when the gap before these notes
            // is longer than the gap after them, they are the restart's.
            if may_back
                && a0 > 0
                && path[a0 - 1] < path[a0]
                && path[a0..j].iter().all(|&g| g == path[a0])
                && holds_all(a0..j, g_r)
                && onset(a0) - onset(a0 - 1) > onset(j) - onset(j - 1)
                && !(j..m)
                    .take_while(|&k| path[k] == g_r)
                    .any(|k| (a0..j).any(|c| perf[order[c]].pitch == perf[order[k]].pitch))
            {
                // The pause before them is where the restart began.
                path[a0..j].fill(g_r);
                j = a0;
            }
            break;
        }
        settled = j + 1;
    }
}

/// A restart begins with a whole chord; a stop often cuts one short. Read as
/// the restart's first group `grp`, a chord of `struck` notes holding under
/// half of its pitches is the less likely reading: the gaps must favour it by
/// a factor of two (this, added to its gap error in
/// [`place_jumps_at_pauses`]).
fn fragment_penalty(grp: &Group, struck: usize) -> f64 {
    if 2 * struck < grp.pitches.len() {
        std::f64::consts::LN_2
    } else {
        0.0
    }
}

/// How far a gap between two onsets is from the length the score gives it,
/// as a log ratio (softened by 50 ms, so chord notes and short notes do not
/// dominate).
fn gap_error(gap: f64, expected: f64) -> f64 {
    const SOFT_S: f64 = 0.05;
    if gap < 0.0 || expected < 0.0 {
        return f64::INFINITY;
    }
    ((gap + SOFT_S) / (expected + SOFT_S)).ln().abs()
}

/// First onset of the run of notes just before position `j` that the path
/// puts in the same group as note `j - 1`.
fn group_start(perf: &[PerfNote], order: &[usize], path: &[usize], j: usize) -> f64 {
    let g = path[j - 1];
    (0..j)
        .rev()
        .take_while(|&k| path[k] == g)
        .map(|k| perf[order[k]].onset_s)
        .fold(f64::INFINITY, f64::min)
}

/// Seconds per quarter of the playing just before position `j`: from the
/// first onsets of the last few groups of the forward run ending there
/// (the notated tempo when there are too few).
fn local_spq(score: &Score, perf: &[PerfNote], order: &[usize], path: &[usize], j: usize) -> f64 {
    const GROUPS: usize = 5;
    let groups = score.groups();
    let fallback = score.notated_spq(path[j.saturating_sub(1)]);
    if j == 0 {
        return fallback;
    }
    // (group, first onset) of each group, walking back.
    let mut seen: Vec<(usize, f64)> = Vec::with_capacity(GROUPS);
    for k in (0..j).rev() {
        let (g, t) = (path[k], perf[order[k]].onset_s);
        match seen.last_mut() {
            Some(last) if last.0 == g => last.1 = last.1.min(t),
            Some(last) if last.0 < g => break,
            _ => {
                if seen.len() == GROUPS {
                    break;
                }
                seen.push((g, t));
            }
        }
    }
    match (seen.first(), seen.last()) {
        (Some(&(g1, t1)), Some(&(g0, t0))) if g1 > g0 && t1 > t0 => {
            (t1 - t0) / (groups[g1].q - groups[g0].q)
        }
        _ => fallback,
    }
}

/// A part of the attempt that moves forward through the score.
#[derive(Debug, Clone)]
struct Segment {
    /// Range of positions in playing order.
    j0: usize,
    j1: usize,
    /// Range of onset groups (inclusive).
    g0: usize,
    g1: usize,
}

fn segments(score: &Score, perf: &[PerfNote], order: &[usize], path: &[usize]) -> Vec<Segment> {
    let groups = score.groups();
    let mut out: Vec<Segment> = Vec::new();
    let mut start = 0;
    for j in 1..=path.len() {
        if j == path.len() || path[j] < path[j - 1] {
            // Group range from the notes whose pitch the group holds.
            let mut g0 = usize::MAX;
            let mut g1 = 0;
            for jj in start..j {
                let g = path[jj];
                if groups[g].has_pitch(perf[order[jj]].pitch) {
                    g0 = g0.min(g);
                    g1 = g1.max(g);
                }
            }
            if g0 == usize::MAX {
                g0 = path[start];
                g1 = path[j - 1];
            }
            // The attempt's first and last notes open and close it even when
            // their group lacks their pitch (a wrong note there can then be
            // paired with its score note).
            if start == 0 {
                g0 = g0.min(path[0]);
            }
            if j == path.len() {
                g1 = g1.max(path[j - 1]);
            }
            out.push(Segment {
                j0: start,
                j1: j,
                g0,
                g1,
            });
            start = j;
        }
    }
    out
}

/// Per-segment matching state.
struct SegmentMatch {
    /// For each score note (global index): matched perf position in playing
    /// order, if any, in this segment.
    score_to_pos: Vec<Option<usize>>,
    /// For each position of the segment (offset from `j0`): matched score note.
    pos_to_score: Vec<Option<usize>>,
}

fn anchors_from_path(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    path: &[usize],
    seg: &Segment,
) -> Anchors {
    let groups = score.groups();
    let mut per_group: Vec<Vec<(f64, u8)>> = vec![Vec::new(); seg.g1 - seg.g0 + 1];
    let mut grace_ends: Vec<Option<f64>> = vec![None; per_group.len()];
    let mut grace_starts: Vec<Option<f64>> = vec![None; per_group.len()];
    for j in seg.j0..seg.j1 {
        let g = path[j];
        let p = &perf[order[j]];
        if g >= seg.g0 && g <= seg.g1 && groups[g].has_pitch(p.pitch) {
            // Pitches that are only grace notes in the group are no anchor.
            if has_main_note(score, g, p.pitch) {
                per_group[g - seg.g0].push((p.onset_s, p.pitch));
            } else {
                keep_latest(&mut grace_ends[g - seg.g0], p.onset_s);
                keep_earliest(&mut grace_starts[g - seg.g0], p.onset_s);
            }
        }
    }
    collect_anchors(score, seg, &per_group, grace_ends, grace_starts)
}

/// `latest` becomes the later of itself and `t`.
fn keep_latest(latest: &mut Option<f64>, t: f64) {
    *latest = Some(latest.map_or(t, |l| l.max(t)));
}

/// `earliest` becomes the earlier of itself and `t`.
fn keep_earliest(earliest: &mut Option<f64>, t: f64) {
    *earliest = Some(earliest.map_or(t, |e| e.min(t)));
}

/// Time anchors of a segment: the median onset of each onset group with
/// played notes (for the time map) and the span of those onsets (a rolled or
/// spread chord is on time anywhere within its span).
struct Anchors {
    points: Vec<(f64, f64)>,
    /// Per group of the segment (offset from `g0`): (first, last) onset.
    windows: Vec<Option<(f64, f64)>>,
    /// Per group of the segment: its centre, where a note of it is most
    /// likely struck (the neighbours' line, within the window).
    centres: Vec<Option<f64>>,
    /// Per group of the segment: the last onset of its grace notes struck.
    grace_ends: Vec<Option<f64>>,
    /// Per group of the segment: the first onset of its grace notes struck.
    grace_starts: Vec<Option<f64>>,
}

fn collect_anchors(
    score: &Score,
    seg: &Segment,
    per_group: &[Vec<(f64, u8)>],
    grace_ends: Vec<Option<f64>>,
    grace_starts: Vec<Option<f64>>,
) -> Anchors {
    let groups = score.groups();
    let mut points = Vec::new();
    let mut windows = vec![None; per_group.len()];
    let mut centres = vec![None; per_group.len()];
    // First the plain medians, for the neighbours' lines; a group with only
    // grace notes struck (an arpeggio written as grace notes, its main note
    // left out) is where its last grace note was.
    let raw: Vec<(usize, f64)> = per_group
        .iter()
        .zip(&grace_ends)
        .enumerate()
        .filter_map(|(k, (v, end))| {
            if v.is_empty() {
                return end.map(|t| (k, t));
            }
            let mut t: Vec<f64> = v.iter().map(|x| x.0).collect();
            Some((k, median(&mut t)))
        })
        .collect();
    let mut pts: Vec<(f64, f64, f64)> = Vec::with_capacity(2 * ANCHOR_NEIGHBOURS + 1);
    for (ai, &(k, m)) in raw.iter().enumerate() {
        let v = &per_group[k];
        let g = seg.g0 + k;
        let q0 = groups[g].q;
        if v.is_empty() {
            // Its main notes come after the grace notes, a roll's last
            // step or more later.
            windows[k] = Some((m, m + GRACE_TO_MAIN_MAX_S));
            points.push((q0, m));
            continue;
        }
        // The group's time from its neighbours' line: a note that the coarse
        // path put in the wrong group (an omitted note's group taking the
        // same pitch a beat later) is far from it and must not make the
        // window it would then be matched in.
        pts.clear();
        let lo = ai.saturating_sub(ANCHOR_NEIGHBOURS);
        let hi = (ai + ANCHOR_NEIGHBOURS + 1).min(raw.len());
        for &(kk, mm) in &raw[lo..hi] {
            if kk != k {
                pts.push((groups[seg.g0 + kk].q, mm, 1.0));
            }
        }
        let mut line_t = None;
        let kept: Vec<f64> = match robust_line(&mut pts, q0) {
            Some((a, b)) if b > 0.0 && pts.len() >= 4 => {
                line_t = Some(a);
                // Nearest onset group on either side, in quarters.
                let mut dq = f64::INFINITY;
                if g > 0 {
                    dq = dq.min(q0 - groups[g - 1].q);
                }
                if g + 1 < groups.len() {
                    dq = dq.min(groups[g + 1].q - q0);
                }
                let tol = (ANCHOR_TOL_SHARE * b * dq).clamp(ANCHOR_TOL_MIN_S, ANCHOR_TOL_MAX_S);
                let near_lo = g.saturating_sub(ANCHOR_NEIGHBOURS).max(seg.g0);
                let near_hi = (g + ANCHOR_NEIGHBOURS).min(seg.g1);
                v.iter()
                    .filter(|&&(o, pitch)| {
                        let d = (o - a).abs();
                        if d <= tol {
                            return true;
                        }
                        // Dropped only if another group with this pitch is
                        // nearer in time.
                        !(near_lo..=near_hi).any(|gg| {
                            gg != g
                                && groups[gg].has_pitch(pitch)
                                && !per_group[gg - seg.g0].iter().any(|x| x.1 == pitch)
                                && (o - (a + b * (groups[gg].q - q0))).abs() < d
                        })
                    })
                    .map(|x| x.0)
                    .collect()
            }
            _ => v.iter().map(|x| x.0).collect(),
        };
        if kept.is_empty() {
            continue;
        }
        let m = if kept.len() == v.len() {
            m
        } else {
            median(&mut kept.clone())
        };
        let (first, last) = kept
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(x, y), &o| {
                (x.min(o), y.max(o))
            });
        windows[k] = Some((first, last));
        // The centre: where the neighbours' line puts the group (a single
        // voice's group has no other onsets to outvote a stray one), else
        // its median onset; a chord of `CHORD_CENTRE_MIN` onsets or more is
        // where it was struck (played early, a pitch of it struck again on
        // the line's time is the stray one).
        centres[k] = Some(if kept.len() >= CHORD_CENTRE_MIN {
            m
        } else {
            line_t.map_or(m, |t| t.clamp(first, last))
        });
        points.push((q0, m));
    }
    Anchors {
        points,
        windows,
        centres,
        grace_ends,
        grace_starts,
    }
}

/// Longest wait from the last grace note struck of a group to its main
/// notes, when none of those was struck (see [`collect_anchors`]): the top
/// of a slowly rolled chord.
const GRACE_TO_MAIN_MAX_S: f64 = 1.0;

/// Onsets of a group from which its median, not its neighbours' line, is
/// its centre (measured: 3 and 4 alike, 4 a little better at the lowest
/// rate of injected mistakes).
const CHORD_CENTRE_MIN: usize = 4;

/// Anchors on each side used to check a group's onsets.
const ANCHOR_NEIGHBOURS: usize = 4;
/// Onsets further from the neighbours' line than this share of the time to
/// the nearest onset group (clamped) are left out of a group's anchor.
const ANCHOR_TOL_SHARE: f64 = 0.6;
const ANCHOR_TOL_MIN_S: f64 = 0.12;
const ANCHOR_TOL_MAX_S: f64 = 0.4;

fn anchors_from_matches(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    seg: &Segment,
    sm: &SegmentMatch,
) -> Anchors {
    let mut per_group: Vec<Vec<(f64, u8)>> = vec![Vec::new(); seg.g1 - seg.g0 + 1];
    let mut grace_ends: Vec<Option<f64>> = vec![None; per_group.len()];
    let mut grace_starts: Vec<Option<f64>> = vec![None; per_group.len()];
    for (k, s) in sm.pos_to_score.iter().enumerate() {
        if let Some(i) = *s {
            let g = score.group_of(i);
            let p = &perf[order[seg.j0 + k]];
            if score.notes()[i].grace {
                keep_latest(&mut grace_ends[g - seg.g0], p.onset_s);
                keep_earliest(&mut grace_starts[g - seg.g0], p.onset_s);
            } else {
                per_group[g - seg.g0].push((p.onset_s, p.pitch));
            }
        }
    }
    collect_anchors(score, seg, &per_group, grace_ends, grace_starts)
}

/// Share of a performed note's distance from its group's centre (the median
/// onset) added to its match cost, in units of `sigma`. A group's window is
/// the span of the onsets matched to it, and a stray note of the same pitch
/// (a performer's ornament, the next note of that pitch struck early) that
/// was taken into it in an earlier pass widens it to itself: two notes of
/// one pitch then both lie in the window at no cost, and the order of the
/// edit programme, not the music, chose which was the group's. Small, so it
/// decides such ties (the note struck with the rest of the chord wins) and
/// hardly moves the choice between a match and a gap.
const CENTRE_SHARE: f64 = 0.1;

/// Where and how a score note's onset is expected, for [`match_sequence`].
#[derive(Debug, Clone, Copy)]
struct ExpectedOnset {
    /// Window it is on time in.
    lo: f64,
    hi: f64,
    sigma: f64,
    /// Centre of its onset group, or NaN.
    centre: f64,
    /// Cost of leaving it unmatched.
    miss_cost: f64,
}

/// A grace note left out costs this share of a main note's cost: players
/// drop ornaments more often than the notes they decorate, and a grace note
/// on its main note's pitch and onset must not take the one strike the two
/// share (its window is wider, so without this it would).
const GRACE_MISS_SHARE: f64 = 0.75;

/// Edit-distance matching of one pitch: `s_times` where the score notes are
/// expected (in order), `p_times` onsets of the performed notes. Returns
/// pairs (score k, perf k).
fn match_sequence(
    s_times: &[ExpectedOnset],
    p_times: &[f64],
    cfg: &AlignConfig,
    out: &mut Vec<(usize, usize)>,
) {
    let a = s_times.len();
    let b = p_times.len();
    if a == 0 || b == 0 {
        return;
    }
    let gap = cfg.gap_cost;
    let w = b + 1;
    let mut d = vec![0.0f64; (a + 1) * w];
    // 0 = diagonal (match), 1 = score gap (missed), 2 = perf gap (extra)
    let mut bt = vec![0u8; (a + 1) * w];
    for i in 1..=a {
        d[i * w] = d[(i - 1) * w] + s_times[i - 1].miss_cost;
        bt[i * w] = 1;
    }
    for j in 1..=b {
        d[j] = gap * j as f64;
        bt[j] = 2;
    }
    for i in 1..=a {
        let ExpectedOnset {
            lo,
            hi,
            sigma,
            centre,
            miss_cost,
        } = s_times[i - 1];
        for j in 1..=b {
            let p = p_times[j - 1];
            let dev = if p < lo {
                lo - p
            } else if p > hi {
                p - hi
            } else {
                0.0
            };
            let mut best = d[(i - 1) * w + j] + miss_cost;
            let mut how = 1u8;
            let e = d[i * w + j - 1] + gap;
            if e < best {
                best = e;
                how = 2;
            }
            if dev <= cfg.max_dev_s {
                let off = if centre.is_nan() {
                    0.0
                } else {
                    CENTRE_SHARE * (p - centre).abs()
                };
                let c = d[(i - 1) * w + j - 1] + (dev + off) / sigma;
                if c < best {
                    best = c;
                    how = 0;
                }
            }
            d[i * w + j] = best;
            bt[i * w + j] = how;
        }
    }
    let (mut i, mut j) = (a, b);
    while i > 0 || j > 0 {
        match bt[i * w + j] {
            0 => {
                out.push((i - 1, j - 1));
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
}

/// When score note `i` is on time: the span its onset group was played in
/// (its time on the map when none of it was). A grace note falls anywhere
/// between the previous onset and its main note (an arpeggio written as
/// grace notes can take seconds).
fn note_window(
    score: &Score,
    seg: &Segment,
    anchors: &Anchors,
    map: &TimeMap,
    cfg: &AlignConfig,
    i: usize,
) -> (f64, f64) {
    let groups = score.groups();
    let n = &score.notes()[i];
    let g = score.group_of(i);
    let window = anchors.windows.get(g - seg.g0).copied().flatten();
    let (lo, hi) = window.unwrap_or_else(|| {
        let t = map.time_at(n.onset_q);
        (t, t)
    });
    if !n.grace {
        // A main note that a grace note of its group shares a pitch with (a
        // turn ending on it) comes after the grace notes: a strike before
        // the last one struck is the grace note's.
        let twin = groups[g]
            .notes
            .iter()
            .any(|&k| k != i && score.notes()[k].grace && score.notes()[k].pitch == n.pitch);
        if let (true, Some(end)) = (twin, anchors.grace_ends.get(g - seg.g0).copied().flatten()) {
            if end > lo {
                return (end, hi.max(end));
            }
        }
        return (lo, hi);
    }
    let prev = if g > 0 {
        map.time_at(groups[g - 1].q)
    } else {
        lo - cfg.grace_lead_s
    };
    // With no note of its group played (its main note missed, or taken for
    // the next group's), the map's time for the group is a guess: the grace
    // note may come up to the next group.
    let hi = match groups.get(g + 1) {
        Some(next) if window.is_none() => map.time_at(next.q).max(hi),
        _ => hi,
    };
    (prev.min(lo - cfg.grace_lead_s), hi)
}

/// Whether onset group `g` has a note of `pitch` that is not a grace note.
fn has_main_note(score: &Score, g: usize, pitch: u8) -> bool {
    let notes = score.notes();
    score.groups()[g]
        .notes
        .iter()
        .any(|&i| notes[i].pitch == pitch && !notes[i].grace)
}

fn match_segment(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    seg: &Segment,
    anchors: &Anchors,
    map: &TimeMap,
    cfg: &AlignConfig,
) -> SegmentMatch {
    let groups = score.groups();
    let notes = score.notes();
    let mut by_pitch_s: Vec<Vec<usize>> = vec![Vec::new(); 128];
    for g in &groups[seg.g0..=seg.g1] {
        for &i in &g.notes {
            if score.primary(i) == i {
                by_pitch_s[notes[i].pitch as usize].push(i);
            }
        }
    }
    let mut by_pitch_p: Vec<Vec<usize>> = vec![Vec::new(); 128];
    for j in seg.j0..seg.j1 {
        by_pitch_p[perf[order[j]].pitch as usize].push(j);
    }
    let mut sm = SegmentMatch {
        score_to_pos: vec![None; notes.len()],
        pos_to_score: vec![None; seg.j1 - seg.j0],
    };
    let mut pairs = Vec::new();
    let mut s_times = Vec::new();
    let mut p_times = Vec::new();
    for pitch in 0..128 {
        let ps = &by_pitch_p[pitch];
        let ss = &mut by_pitch_s[pitch];
        if ss.is_empty() || ps.is_empty() {
            continue;
        }
        // In score order; a grace note comes before a main note on its onset.
        ss.sort_by(|&x, &y| {
            notes[x]
                .onset_q
                .total_cmp(&notes[y].onset_q)
                .then(notes[y].grace.cmp(&notes[x].grace))
        });
        let ss = &by_pitch_s[pitch];
        s_times.clear();
        for &i in ss {
            let n = &notes[i];
            let (lo, hi) = note_window(score, seg, anchors, map, cfg, i);
            if n.grace {
                s_times.push(ExpectedOnset {
                    lo,
                    hi,
                    sigma: cfg.sigma_s * 2.0,
                    centre: f64::NAN,
                    miss_cost: cfg.gap_cost * GRACE_MISS_SHARE,
                });
            } else {
                let centre = anchors
                    .centres
                    .get(score.group_of(i) - seg.g0)
                    .copied()
                    .flatten()
                    .unwrap_or(f64::NAN);
                s_times.push(ExpectedOnset {
                    lo,
                    hi,
                    sigma: cfg.sigma_s,
                    centre,
                    miss_cost: cfg.gap_cost,
                });
            }
        }
        p_times.clear();
        p_times.extend(ps.iter().map(|&j| perf[order[j]].onset_s));
        pairs.clear();
        match_sequence(&s_times, &p_times, cfg, &mut pairs);
        for &(ks, kp) in &pairs {
            let i = ss[ks];
            let j = ps[kp];
            sm.score_to_pos[i] = Some(j);
            sm.pos_to_score[j - seg.j0] = Some(i);
        }
    }
    sm
}

/// Frees score notes for the wrong notes struck for them. A wrong note's
/// score note may have been taken by a note of its pitch struck for a
/// neighbouring note of that pitch (a little early or late; its group's
/// window, widened by that note, let it in): that neighbour is then missed
/// and the wrong note extra. When a note left over (unmatched) lies at a
/// score note's group centre within `wrong_pitch_window_s` and
/// `wrong_pitch_semitones` of its pitch, and the note matched to that score
/// note is nearer the centre of the next or previous score note of the same
/// pitch, which is missed, the match moves there; the wrong note is then
/// paired with the freed score note by [`pair_wrong_pitches`].
#[allow(clippy::too_many_arguments)]
fn free_twins_for_wrong_notes(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    seg: &Segment,
    sm: &mut SegmentMatch,
    anchors: &Anchors,
    map: &TimeMap,
    cfg: &AlignConfig,
) {
    let groups = score.groups();
    let notes = score.notes();
    let w = cfg.wrong_pitch_window_s;
    let centre = |i: usize| {
        let g = score.group_of(i);
        anchors
            .centres
            .get(g - seg.g0)
            .copied()
            .flatten()
            .unwrap_or_else(|| map.time_at(notes[i].onset_q))
    };
    // Score notes of the segment by pitch, in score order (main notes).
    let mut by_pitch: Vec<Vec<usize>> = vec![Vec::new(); 128];
    for g in &groups[seg.g0..=seg.g1] {
        for &i in &g.notes {
            if score.primary(i) == i && !notes[i].grace {
                by_pitch[notes[i].pitch as usize].push(i);
            }
        }
    }
    for list in &mut by_pitch {
        list.sort_by(|&x, &y| notes[x].onset_q.total_cmp(&notes[y].onset_q));
    }
    let mut moved = vec![false; notes.len()];
    for k in 0..(seg.j1 - seg.j0) {
        if sm.pos_to_score[k].is_some() {
            continue;
        }
        let wrong = &perf[order[seg.j0 + k]];
        // The best move: (gain in seconds, score note, its twin, position).
        let mut best: Option<(f64, usize, usize, usize)> = None;
        let lo = wrong.pitch.saturating_sub(cfg.wrong_pitch_semitones);
        let hi = wrong
            .pitch
            .saturating_add(cfg.wrong_pitch_semitones)
            .min(127);
        for pitch in lo..=hi {
            if pitch == wrong.pitch {
                continue;
            }
            let list = &by_pitch[pitch as usize];
            for (r, &i) in list.iter().enumerate() {
                let Some(j) = sm.score_to_pos[i] else {
                    continue;
                };
                if moved[i] || (wrong.onset_s - centre(i)).abs() > w {
                    continue;
                }
                let t = perf[order[j]].onset_s;
                let here = (t - centre(i)).abs();
                let twins = [r.checked_sub(1), Some(r + 1)];
                for &twin in twins.into_iter().flatten().filter_map(|x| list.get(x)) {
                    if sm.score_to_pos[twin].is_some() || moved[twin] {
                        continue;
                    }
                    let there = (t - centre(twin)).abs();
                    let gain = here - there;
                    if there <= w && gain > 0.0 && best.map_or(true, |b| gain > b.0) {
                        best = Some((gain, i, twin, j));
                    }
                }
            }
        }
        if let Some((_, i, twin, j)) = best {
            sm.score_to_pos[i] = None;
            sm.score_to_pos[twin] = Some(j);
            sm.pos_to_score[j - seg.j0] = Some(twin);
            moved[i] = true;
            moved[twin] = true;
        }
    }
}

/// Wrong pitches: a missed note and an extra note at the same moment (within
/// `wrong_pitch_window_s` of the span its onset group was played in, or of
/// its time on the map) and within `wrong_pitch_semitones`. Pairs are made
/// cheapest first over the whole segment (nearer in time, then in pitch), so
/// a missed note does not take the wrong note of a later one because it
/// comes first in the score. Returns, per score note, the position paired
/// with it.
#[allow(clippy::too_many_arguments)]
fn pair_wrong_pitches(
    score: &Score,
    perf: &[PerfNote],
    order: &[usize],
    seg: &Segment,
    sm: &SegmentMatch,
    anchors: &Anchors,
    map: &TimeMap,
    cfg: &AlignConfig,
) -> Vec<Option<usize>> {
    let groups = score.groups();
    let notes = score.notes();
    let w = cfg.wrong_pitch_window_s;
    // Before the first group played and after the last, nothing bounds when
    // a note was struck (a pickup held long, a final chord rolled or held
    // before its last notes): the window is open on that side.
    let played = || {
        anchors
            .windows
            .iter()
            .enumerate()
            .filter(|(_, x)| x.is_some())
    };
    let first_played = played().map(|(k, _)| k).next().unwrap_or(0);
    let last_played = played().map(|(k, _)| k).next_back().unwrap_or(usize::MAX);
    let window_of = |k: usize| anchors.windows.get(k).copied().flatten();
    let first_onset = window_of(first_played).map_or(f64::NEG_INFINITY, |x| x.0);
    let last_onset = window_of(last_played).map_or(f64::INFINITY, |x| x.1);
    // Per group of the segment: the end of the last group played before it
    // and the start of the first played after it.
    let n_groups = seg.g1 - seg.g0 + 1;
    let mut prev_end = vec![f64::NEG_INFINITY; n_groups];
    let mut next_start = vec![f64::INFINITY; n_groups];
    for k in 1..n_groups {
        prev_end[k] = window_of(k - 1).map_or(prev_end[k - 1], |x| x.1);
    }
    for k in (0..n_groups.saturating_sub(1)).rev() {
        next_start[k] = window_of(k + 1).map_or(next_start[k + 1], |x| x.0);
    }
    let mut cands: Vec<(f64, usize, usize)> = Vec::new();
    for (kg, g) in groups[seg.g0..=seg.g1].iter().enumerate() {
        for &i in &g.notes {
            if sm.score_to_pos[i].is_some() || score.primary(i) != i {
                continue;
            }
            let (lo_t, hi_t) = note_window(score, seg, anchors, map, cfg, i);
            // A group before the first one played (after the last) has only
            // the map's guess for a time, extrapolated: it may have been
            // struck any time up to that group's first onset (from its last).
            // A group with no note played between two that were (a chord
            // struck all wrong) has only the map's time too: its wrong notes
            // lie anywhere between its neighbours.
            let unplayed = window_of(kg).is_none();
            let reach_lo = if kg <= first_played {
                f64::NEG_INFINITY
            } else if kg > last_played {
                (lo_t - w).min(last_onset)
            } else if unplayed {
                (lo_t - w).min(prev_end[kg])
            } else {
                lo_t - w
            };
            // A group with grace notes is struck from its first grace note
            // on: a bass note under an ornament goes with its first note.
            let reach_lo = match anchors.grace_starts[kg] {
                Some(first) if !notes[i].grace => reach_lo.min(first - w),
                _ => reach_lo,
            };
            let reach_hi = if kg >= last_played {
                f64::INFINITY
            } else if kg < first_played {
                (hi_t + w).max(first_onset)
            } else if unplayed {
                (hi_t + w).max(next_start[kg])
            } else {
                hi_t + w
            };
            let lo = order[seg.j0..seg.j1].partition_point(|&o| perf[o].onset_s < reach_lo);
            for k in lo..(seg.j1 - seg.j0) {
                let p = &perf[order[seg.j0 + k]];
                if p.onset_s > reach_hi {
                    break;
                }
                let dp = p.pitch.abs_diff(notes[i].pitch);
                if sm.pos_to_score[k].is_some() || dp == 0 || dp > cfg.wrong_pitch_semitones {
                    continue;
                }
                let dt = (lo_t - p.onset_s).max(p.onset_s - hi_t).max(0.0);
                cands.push((dt / w + f64::from(dp) / 4.0, i, k));
            }
        }
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut wrong: Vec<Option<usize>> = vec![None; notes.len()];
    let mut owner: Vec<Option<usize>> = vec![None; seg.j1 - seg.j0];
    for &(_, i, k) in &cands {
        if wrong[i].is_none() && owner[k].is_none() {
            owner[k] = Some(i);
            wrong[i] = Some(k);
        }
    }
    augment_pairs(&cands, &mut wrong, &mut owner);
    for w in wrong.iter_mut().flatten() {
        *w += seg.j0;
    }
    wrong
}

/// Pairs left unpaired by the cheapest-first pass get a partner when a chain
/// of re-pairings frees one (an augmenting path): two wrong notes of one
/// chord, the cheaper pair taken first, must not leave the other one's
/// score note and wrong note both unpaired. `cands` are (cost, score note,
/// position) sorted by cost; `wrong` and `owner` the pairs both ways.
fn augment_pairs(
    cands: &[(f64, usize, usize)],
    wrong: &mut [Option<usize>],
    owner: &mut [Option<usize>],
) {
    let mut adj: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for &(_, i, k) in cands {
        adj.entry(i).or_default().push(k);
    }
    let unpaired: Vec<usize> = adj
        .keys()
        .copied()
        .filter(|&i| wrong[i].is_none())
        .collect();
    for i in unpaired {
        let mut seen = vec![false; owner.len()];
        augment(i, &adj, wrong, owner, &mut seen);
    }
}

fn augment(
    i: usize,
    adj: &std::collections::BTreeMap<usize, Vec<usize>>,
    wrong: &mut [Option<usize>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &k in adj.get(&i).map_or(&[][..], |v| v.as_slice()) {
        if seen[k] {
            continue;
        }
        seen[k] = true;
        if owner[k].map_or(true, |o| augment(o, adj, wrong, owner, seen)) {
            owner[k] = Some(i);
            wrong[i] = Some(k);
            return true;
        }
    }
    false
}

/// Aligns a performance to the score: labels, timing, tempo.
///
/// `perf` may be in any order; results refer to its indices.
///
/// # Errors
/// [`AssessmentError::BadPerfNote`] for an unusable performed note,
/// [`AssessmentError::BadParameter`] for a bad configuration.
pub fn assess(
    score: &Score,
    perf: &[PerfNote],
    cfg: &AlignConfig,
) -> Result<Assessment, AssessmentError> {
    cfg.validate()?;
    let order = perf_order(perf)?;
    let groups = score.groups();
    let notes = score.notes();
    let first = coarse_path(score, perf, &order, cfg, None, None);
    let pace = playing_pace(score, perf, &order, &first);
    // A first path that nowhere moves on too soon is the second pass's
    // answer already (the rhythm cost only adds): the pass is skipped.
    let mut path = if rushed(score, perf, &order, &first, &pace) {
        coarse_path(score, perf, &order, cfg, Some(&pace), Some(&first))
    } else {
        first
    };
    keep_chords_before_jumps(score, perf, &order, &mut path);
    place_jumps_at_pauses(score, perf, &order, &mut path);
    let segs = segments(score, perf, &order, &path);

    let mut perf_res: Vec<PerfResult> = vec![
        PerfResult {
            label: Label::Extra,
            score_note: None,
            score_q: 0.0,
            segment: 0,
        };
        perf.len()
    ];
    let mut passes: Vec<Vec<NoteResult>> = Vec::new();
    let mut tempo: Vec<TempoPoint> = Vec::new();
    let mut segment_starts = Vec::new();
    // First onset group of each segment's pass.
    let mut seg_start: Vec<usize> = Vec::with_capacity(segs.len());

    for (si, seg) in segs.iter().enumerate() {
        segment_starts.push(seg.j0);
        let default_spq = score.notated_spq(seg.g0);
        let mut anchors = anchors_from_path(score, perf, &order, &path, seg);
        let mut map = TimeMap::new(&anchors.points, default_spq);
        let mut sm = match_segment(score, perf, &order, seg, &anchors, &map, cfg);
        for _ in 1..cfg.passes {
            let next = anchors_from_matches(score, perf, &order, seg, &sm);
            if next.points.is_empty() {
                break;
            }
            anchors = next;
            map = TimeMap::new(&anchors.points, default_spq);
            sm = match_segment(score, perf, &order, seg, &anchors, &map, cfg);
        }
        free_twins_for_wrong_notes(score, perf, &order, seg, &mut sm, &anchors, &map, cfg);
        let last = anchors_from_matches(score, perf, &order, seg, &sm);
        if !last.points.is_empty() {
            map = TimeMap::new(&last.points, default_spq);
        }

        let wrong = pair_wrong_pitches(score, perf, &order, seg, &sm, &last, &map, cfg);

        // A restart's segment starts at its first group with a note played:
        // leading groups with none (the coarse path can begin the segment a
        // little before the bar the player went back to) stay with the
        // earlier pass that played them.
        let g_start = if si == 0 {
            seg.g0
        } else {
            (seg.g0..=seg.g1)
                .find(|&g| {
                    groups[g].notes.iter().any(|&i| {
                        let pi = score.primary(i);
                        sm.score_to_pos[pi].is_some() || wrong[pi].is_some()
                    })
                })
                .unwrap_or(seg.g0)
        };
        seg_start.push(g_start);

        // Local tempo line per onset group (neighbours only) and deviations.
        let group_q: Vec<f64> = groups[seg.g0..=seg.g1].iter().map(|g| g.q).collect();
        let mut onsets = matched_onsets_by_group(
            score,
            perf,
            &order[seg.j0..seg.j1],
            &sm.pos_to_score,
            seg.g0,
            group_q.len(),
        );
        add_wrong_pitch_onsets(score, perf, &order, &wrong, seg.g0, &mut onsets);
        let lines = local_tempo(
            &group_q,
            &mut onsets,
            cfg.tempo_neighbours,
            &map,
            default_spq,
            si,
        );
        tempo.extend_from_slice(&lines.tempo);
        let expected = lines.expected;

        let mut pass = Vec::new();
        for g in g_start..=seg.g1 {
            for &i in &groups[g].notes {
                let n = &notes[i];
                // A unison doubling takes the outcome of the note played for it.
                let pi = score.primary(i);
                let (label, pos) = match (sm.score_to_pos[pi], wrong[pi]) {
                    (Some(j), _) => (Label::Match, Some(j)),
                    (None, Some(j)) => (Label::WrongPitch, Some(j)),
                    (None, None) => (Label::Missed, None),
                };
                let (mut timing_dev_s, mut duration_ratio) = (None, None);
                if let Some(j) = pos {
                    let p = &perf[order[j]];
                    let Expected { time_s: exp_t, spq } =
                        expected[g - seg.g0].unwrap_or(Expected {
                            time_s: map.time_at(n.onset_q),
                            spq: default_spq,
                        });
                    if !n.grace {
                        timing_dev_s = Some(p.onset_s - exp_t);
                        if n.duration_q > 0.0 {
                            duration_ratio = Some((p.offset_s - p.onset_s) / (n.duration_q * spq));
                        }
                    }
                    if pi == i {
                        perf_res[order[j]] = PerfResult {
                            label,
                            score_note: Some(i),
                            score_q: n.onset_q,
                            segment: si,
                        };
                    }
                }
                pass.push(NoteResult {
                    score_note: i,
                    label,
                    perf_note: pos.map(|j| order[j]),
                    timing_dev_s,
                    duration_ratio,
                    segment: si,
                    is_final: false,
                });
            }
        }
        for j in seg.j0..seg.j1 {
            let r = &mut perf_res[order[j]];
            r.segment = si;
            if r.score_note.is_none() {
                r.score_q = map.quarter_at(perf[order[j]].onset_s);
            }
        }
        passes.push(pass);
    }

    // The final pass through each note is the last segment covering it;
    // earlier passes keep only what was played.
    let mut final_seg: Vec<Option<usize>> = vec![None; notes.len()];
    for (si, seg) in segs.iter().enumerate() {
        for g in &groups[seg_start[si]..=seg.g1] {
            for &i in &g.notes {
                final_seg[i] = Some(si);
            }
        }
    }
    // A chord cut short by a restart: a note struck in the last group of an
    // earlier pass and missed in its final pass counts as struck there.
    let mut cut: Vec<Option<usize>> = vec![None; notes.len()];
    for (si, pass) in passes.iter().enumerate() {
        for r in pass {
            if final_seg[r.score_note] != Some(si) && r.label != Label::Missed {
                if score.group_of(r.score_note) == segs[si].g1 {
                    cut[r.score_note] = Some(si);
                } else {
                    cut[r.score_note] = None;
                }
            }
        }
    }
    for (si, pass) in passes.iter().enumerate() {
        for r in pass {
            if final_seg[r.score_note] == Some(si) && r.label != Label::Missed {
                cut[r.score_note] = None;
            }
        }
    }
    // A restart begun on a fragment of a chord (its first group's notes
    // mostly unstruck in the restart, a stop's lone note read as the
    // restart's): a note of that group struck in an earlier pass and missed
    // in the restart counts as struck there.
    let mut last_struck: Vec<Option<usize>> = vec![None; notes.len()];
    for (si, pass) in passes.iter().enumerate() {
        if si > 0 {
            let g = seg_start[si];
            let first: Vec<&NoteResult> = pass
                .iter()
                .filter(|r| {
                    score.group_of(r.score_note) == g && score.primary(r.score_note) == r.score_note
                })
                .collect();
            let struck = first.iter().filter(|r| r.label != Label::Missed).count();
            if 2 * struck < first.len() {
                for r in first {
                    let i = r.score_note;
                    if r.label == Label::Missed && final_seg[i] == Some(si) && cut[i].is_none() {
                        cut[i] = last_struck[i];
                    }
                }
            }
        }
        for r in pass {
            if r.label != Label::Missed {
                last_struck[r.score_note] = Some(si);
            }
        }
    }
    let mut out: Vec<NoteResult> = Vec::with_capacity(notes.len());
    for pass in passes {
        for mut r in pass {
            let i = r.score_note;
            if cut[i].is_some() {
                if cut[i] == Some(r.segment) {
                    r.is_final = true;
                    out.push(r);
                } else if r.label != Label::Missed {
                    out.push(r);
                }
            } else if final_seg[i] == Some(r.segment) {
                r.is_final = true;
                out.push(r);
            } else if r.label != Label::Missed {
                out.push(r);
            }
        }
    }
    for (i, f) in final_seg.iter().enumerate() {
        if f.is_none() {
            out.push(NoteResult {
                score_note: i,
                label: Label::Missed,
                perf_note: None,
                timing_dev_s: None,
                duration_ratio: None,
                segment: 0,
                is_final: true,
            });
        }
    }
    out.sort_by(|a, b| {
        let (na, nb) = (&notes[a.score_note], &notes[b.score_note]);
        na.onset_q
            .total_cmp(&nb.onset_q)
            .then(na.pitch.cmp(&nb.pitch))
            .then(a.score_note.cmp(&b.score_note))
            .then(a.segment.cmp(&b.segment))
    });
    Ok(Assessment {
        notes: out,
        perf: perf_res,
        tempo,
        segment_starts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::score::ScoreNote;

    /// A melody of `n` quarter notes (pseudo-random pitches in 48..84,
    /// no pitch twice in a row).
    fn scale(n: usize) -> Score {
        let mut x: u32 = 12345;
        let mut last = 0u8;
        let mut notes = Vec::new();
        for k in 0..n {
            let mut pitch = last;
            while pitch == last {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                pitch = 48 + ((x >> 16) % 36) as u8;
            }
            last = pitch;
            notes.push(ScoreNote::simple(pitch, k as f64, 1.0));
        }
        Score::new(notes).unwrap()
    }

    fn play(score: &Score, spq: f64) -> Vec<PerfNote> {
        score
            .notes()
            .iter()
            .map(|n| {
                PerfNote::new(
                    n.pitch,
                    1.0 + n.onset_q * spq,
                    1.0 + (n.onset_q + 0.9) * spq,
                    64,
                )
            })
            .collect()
    }

    /// Score notes whose final outcome is missed.
    fn final_missed(a: &Assessment) -> Vec<usize> {
        a.notes
            .iter()
            .filter(|r| r.is_final && r.label == Label::Missed)
            .map(|r| r.score_note)
            .collect()
    }

    fn labels(a: &Assessment) -> Vec<Label> {
        a.notes
            .iter()
            .filter(|r| r.is_final)
            .map(|r| r.label)
            .collect()
    }

    /// `notes` played evenly from `t0`, 0.4 s apart, each held 0.3 s: a pass of a take.
    fn played_from(notes: &[ScoreNote], t0: f64) -> Vec<PerfNote> {
        let spq = 0.4;
        notes
            .iter()
            .enumerate()
            .map(|(k, n)| {
                let t = t0 + k as f64 * spq;
                PerfNote::new(n.pitch, t, t + 0.3, 64)
            })
            .collect()
    }

    /// Twenty three-note chords, one a quarter, chord `k` of the pitches
    /// `pitches(k)`.
    fn triads(pitches: impl Fn(u8) -> [u8; 3]) -> Score {
        let notes = (0..20u8)
            .flat_map(|k| pitches(k).map(|p| ScoreNote::simple(p, f64::from(k), 1.0)))
            .collect();
        Score::new(notes).unwrap()
    }

    /// Chords `chords` of a [`triads`] score struck one a beat (0.5 s) from
    /// `t0`, each held 0.4 s.
    fn strike_triads(s: &Score, chords: std::ops::Range<usize>, t0: f64) -> Vec<PerfNote> {
        let first = chords.start;
        chords
            .flat_map(|k| {
                let t = t0 + 0.5 * (k - first) as f64;
                s.notes()[3 * k..3 * k + 3]
                    .iter()
                    .map(move |n| PerfNote::new(n.pitch, t, t + 0.4, 64))
            })
            .collect()
    }

    #[test]
    fn perfect_performance_matches_everything() {
        let s = scale(24);
        let a = assess(&s, &play(&s, 0.4), &AlignConfig::default()).unwrap();
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
        assert!(a.perf.iter().all(|p| p.label == Label::Match));
        for r in &a.notes {
            assert!(r.timing_dev_s.unwrap().abs() < 1e-9);
            assert!((r.duration_ratio.unwrap() - 0.9).abs() < 1e-9);
        }
        assert!((a.tempo[5].qpm - 150.0).abs() < 1e-6);
    }

    #[test]
    fn finds_missed_extra_and_wrong_notes() {
        let s = scale(24);
        let mut p = play(&s, 0.4);
        p.remove(10); // missed: score note 10
        p[4].pitch += 1; // wrong pitch: score note 4
        p.push(PerfNote::new(90, 1.0 + 15.5 * 0.4, 1.0 + 15.9 * 0.4, 64)); // extra
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let l = labels(&a);
        assert_eq!(l[10], Label::Missed);
        assert_eq!(l[4], Label::WrongPitch);
        assert_eq!(l.iter().filter(|&&x| x == Label::Match).count(), 22);
        assert_eq!(a.perf[p.len() - 1].label, Label::Extra);
        assert_eq!(a.perf[4].label, Label::WrongPitch);
    }

    #[test]
    fn grace_notes_of_a_missed_main_note_are_matched() {
        // Two grace notes before note 10; the player plays them late (an
        // arpeggio taking its time) and leaves the main note out.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        for pitch in [95, 97] {
            let mut n = ScoreNote::simple(pitch, 10.0, 0.0);
            n.grace = true;
            notes.push(n);
        }
        let s = Score::new(notes).unwrap();
        let mut p: Vec<PerfNote> = play(&s, 2.0).into_iter().filter(|n| n.pitch < 95).collect();
        let main = s.notes()[10].pitch;
        p.retain(|n| n.pitch != main || (n.onset_s - 21.0).abs() > 1e-9);
        p.push(PerfNote::new(95, 22.2, 22.3, 64));
        p.push(PerfNote::new(97, 22.5, 22.6, 64));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let label = |i: usize| a.notes.iter().find(|r| r.score_note == i).unwrap().label;
        assert_eq!(label(10), Label::Missed);
        assert_eq!((label(24), label(25)), (Label::Match, Label::Match));
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
    }

    #[test]
    fn one_strike_for_a_grace_note_and_its_main_note_is_the_main_note() {
        // Note 10 has a grace note of its own pitch; the player strikes the
        // pitch once, with the beat: the main note is played, the grace note
        // left out.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        let mut n = ScoreNote::simple(notes[10].pitch, 10.0, 0.0);
        n.grace = true;
        notes.push(n);
        let s = Score::new(notes).unwrap();
        let p: Vec<PerfNote> = play(&s, 0.4).into_iter().take(24).collect();
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let label = |i: usize| a.notes.iter().find(|r| r.score_note == i).unwrap().label;
        assert_eq!((label(10), label(24)), (Label::Match, Label::Missed));
        assert_eq!(a.perf[10].score_note, Some(10));
        // Struck twice, just before the beat and with it: both are played.
        let mut p2 = p.clone();
        p2.push(PerfNote::new(
            p[10].pitch,
            p[10].onset_s - 0.12,
            p[10].onset_s,
            64,
        ));
        let a = assess(&s, &p2, &AlignConfig::default()).unwrap();
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
        assert_eq!(a.perf[24].score_note, Some(24));
    }

    #[test]
    fn turn_ending_on_its_main_note_keeps_the_strike_before_its_last_grace_note() {
        // Note 10 (pitch P, over a bass note) is ornamented by a turn written
        // as grace notes P - 1, P, P + 2. The player strikes the bass and the
        // turn, and leaves the main note out: the strike of P came before the
        // turn's last note, so it is the turn's, and the main note is missed.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        let pitch = notes[10].pitch;
        notes.push(ScoreNote::simple(30, 10.0, 1.0));
        for d in [-1i8, 0, 2] {
            let mut n = ScoreNote::simple(pitch.saturating_add_signed(d), 10.0, 0.0);
            n.grace = true;
            notes.push(n);
        }
        let s = Score::new(notes).unwrap();
        let t10 = 1.0 + 10.0 * 0.4;
        let mut p: Vec<PerfNote> = play(&s, 0.4)
            .into_iter()
            .take(24)
            .filter(|n| (n.onset_s - t10).abs() > 1e-9)
            .collect();
        p.push(PerfNote::new(30, t10, t10 + 0.3, 64));
        for (d, dt) in [(-1i8, -0.02), (0, 0.1), (2, 0.25)] {
            let t = t10 + dt;
            p.push(PerfNote::new(
                pitch.saturating_add_signed(d),
                t,
                t + 0.1,
                64,
            ));
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let label = |i: usize| a.notes.iter().find(|r| r.score_note == i).unwrap().label;
        assert_eq!(label(10), Label::Missed, "the main note");
        for i in 24..28 {
            assert_eq!(label(i), Label::Match, "score note {i}");
        }
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
    }

    #[test]
    fn a_roll_of_grace_notes_without_its_main_note_anchors_its_group() {
        // The last bar: a chord written as grace notes rolled up to its main
        // note (quarter 16). The player rolls it over three seconds and
        // leaves the main note out: the group's time is its last grace note
        // (not the tempo before it), and its main note is due from there.
        let mut notes: Vec<ScoreNote> = scale(16).notes().to_vec();
        for p in [40, 44, 47, 52] {
            let mut n = ScoreNote::simple(p, 16.0, 0.0);
            n.grace = true;
            notes.push(n);
        }
        notes.push(ScoreNote::simple(90, 16.0, 1.0));
        let s = Score::new(notes).unwrap();
        let mut p: Vec<PerfNote> = play(&s, 0.4).into_iter().take(16).collect();
        for (k, pitch) in [40, 44, 47, 52].into_iter().enumerate() {
            let t = 7.6 + 0.8 * k as f64;
            p.push(PerfNote::new(pitch, t, t + 0.5, 64));
        }
        let order = perf_order(&p).unwrap();
        let path = coarse_path(&s, &p, &order, &AlignConfig::default(), None, None);
        let seg = &segments(&s, &p, &order, &path)[0];
        let anchors = anchors_from_path(&s, &p, &order, &path, seg);
        let last = 7.6 + 0.8 * 3.0;
        assert!(
            anchors.points.contains(&(16.0, last)),
            "{:?}",
            anchors.points
        );
        assert_eq!(
            anchors.windows[16 - seg.g0],
            Some((last, last + GRACE_TO_MAIN_MAX_S))
        );
    }

    #[test]
    fn bass_under_an_ornament_played_wrong_with_its_first_grace_note_pairs() {
        // Note 10 (pitch P) over a bass note, ornamented by grace notes
        // P - 1, P + 1, P + 3; slow (0.8 s a quarter). The player strikes
        // the bass with the first grace note, the main note 0.35 s later,
        // and the bass a semitone off: a wrong pitch, not missed and extra.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        let pitch = notes[10].pitch;
        notes.push(ScoreNote::simple(30, 10.0, 1.0));
        for d in [-1i8, 1, 3] {
            let mut n = ScoreNote::simple(pitch.saturating_add_signed(d), 10.0, 0.0);
            n.grace = true;
            notes.push(n);
        }
        let s = Score::new(notes).unwrap();
        let t10 = 1.0 + 10.0 * 0.8;
        let mut p: Vec<PerfNote> = play(&s, 0.8)
            .into_iter()
            .take(24)
            .filter(|n| (n.onset_s - t10).abs() > 1e-9)
            .collect();
        p.push(PerfNote::new(31, t10, t10 + 0.6, 64));
        for (d, dt) in [(-1i8, 0.02), (1, 0.12), (3, 0.22)] {
            let t = t10 + dt;
            p.push(PerfNote::new(
                pitch.saturating_add_signed(d),
                t,
                t + 0.1,
                64,
            ));
        }
        p.push(PerfNote::new(pitch, t10 + 0.35, t10 + 0.7, 64));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let label = |i: usize| a.notes.iter().find(|r| r.score_note == i).unwrap().label;
        let bass = (0..s.len()).find(|&i| s.notes()[i].pitch == 30).unwrap();
        assert_eq!(label(bass), Label::WrongPitch);
        assert!(a.perf.iter().all(|r| r.label != Label::Extra));
    }

    #[test]
    fn grace_note_played_off_pitch_is_a_wrong_pitch() {
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        let mut n = ScoreNote::simple(95, 10.0, 0.0);
        n.grace = true;
        notes.push(n);
        let s = Score::new(notes).unwrap();
        let mut p: Vec<PerfNote> = play(&s, 0.4).into_iter().filter(|n| n.pitch < 95).collect();
        p.push(PerfNote::new(96, 4.9, 4.95, 64));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let grace = a.notes.iter().find(|r| r.score_note == 24).unwrap();
        assert_eq!(grace.label, Label::WrongPitch);
        assert_eq!(a.perf[p.len() - 1].label, Label::WrongPitch);
    }

    #[test]
    fn wrong_notes_before_the_first_and_after_the_last_note_played_pair() {
        // The first note is held long (1.2 s instead of 0.4) and the last
        // one struck late (1 s), both a semitone off: nothing bounds their
        // time on the open side, so they are still wrong pitches.
        let s = scale(24);
        let mut p = play(&s, 0.4);
        p[0].pitch += 1;
        p[0].onset_s -= 0.8;
        p[23].pitch += 1;
        p[23].onset_s += 1.0;
        p[23].offset_s += 1.0;
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let l = labels(&a);
        assert_eq!((l[0], l[23]), (Label::WrongPitch, Label::WrongPitch));
        assert_eq!(a.perf[0].score_note, Some(0));
        assert_eq!(a.perf[23].score_note, Some(23));
    }

    #[test]
    fn wrong_pickup_before_a_slow_start_pairs() {
        // A pickup (59, quarter -0.5), then a melody in sixteenths whose
        // first notes the player takes slowly (0.7 s each, then 0.3 s). The
        // pickup is struck 58, 0.7 s before the first beat: the map,
        // extrapolated from that slow start, puts the pickup 1.4 s before
        // the beat, but the first beat played bounds it, not the map.
        let mut notes = vec![ScoreNote::simple(59, -0.5, 0.5)];
        for k in 0..16 {
            notes.push(ScoreNote::simple(
                62 + (k % 5) as u8 * 2,
                0.25 * k as f64,
                0.25,
            ));
        }
        let s = Score::new(notes).unwrap();
        let mut p = vec![PerfNote::new(58, 0.0, 0.5, 64)];
        let mut t = 0.7;
        for (k, n) in s.notes()[1..].iter().enumerate() {
            p.push(PerfNote::new(n.pitch, t, t + 0.2, 64));
            t += if k < 2 { 0.7 } else { 0.3 };
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[0].label, Label::WrongPitch);
        assert_eq!(a.perf[0].score_note, Some(0));
    }

    #[test]
    fn chord_struck_all_wrong_and_early_pairs() {
        // Two-note chords one a beat (0.5 s). Chord 10 is struck with both
        // notes a semitone off, 0.32 s early (just after chord 9): nothing
        // of it was played right, so its time is the map's guess, further
        // than the wrong-pitch window from the notes; they lie between its
        // neighbours, so they are its wrong notes.
        let mut notes = Vec::new();
        for k in 0..24u8 {
            notes.push(ScoreNote::simple(60 + k, f64::from(k), 1.0));
            notes.push(ScoreNote::simple(30 + k, f64::from(k), 1.0));
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.5);
        for n in &mut p[20..22] {
            n.pitch += 1;
            n.onset_s -= 0.32;
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[20].label, Label::WrongPitch);
        assert_eq!(a.perf[21].label, Label::WrongPitch);
        assert_eq!(a.perf[20].score_note, Some(20));
        assert_eq!(a.perf[21].score_note, Some(21));
    }

    #[test]
    fn chord_struck_early_keeps_its_note_from_a_restrike() {
        // Four-note chords one a beat (0.5 s). Chord 10 is struck 80 ms
        // early but for its second note, 60 ms late; its top note is struck
        // again 100 ms after the chord, on the time its neighbours' line
        // gives the chord. The note struck with the chord is the score's;
        // the second strike is extra.
        let mut notes = Vec::new();
        for k in 0..24u8 {
            for base in [30, 45, 55, 65] {
                notes.push(ScoreNote::simple(base + k % 9, f64::from(k), 1.0));
            }
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.5);
        for n in &mut p[40..44] {
            n.onset_s -= 0.08;
        }
        p[41].onset_s += 0.14;
        let top = p[43];
        p.push(PerfNote::new(
            top.pitch,
            top.onset_s + 0.1,
            top.offset_s,
            64,
        ));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[41].score_note, Some(41));
        assert_eq!(a.perf[43].score_note, Some(43));
        assert_eq!(a.perf[p.len() - 1].label, Label::Extra);
    }

    #[test]
    fn early_note_between_chords_goes_to_the_later() {
        // A bass (36) under every melody note, one a beat (0.6 s). The bass
        // of beat 10 is left out and that of beat 11 struck 0.15 s early:
        // 0.45 s after beat 10 was played, it is beat 11's — already on the
        // coarse path, whose tie rule would keep it in beat 10 (the pitch
        // passes put this simple case right either way).
        let mut notes = Vec::new();
        for (k, n) in scale(24).notes().iter().enumerate() {
            notes.push(ScoreNote::simple(n.pitch + 12, k as f64, 1.0));
            notes.push(ScoreNote::simple(36, k as f64, 1.0));
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.6);
        p[23].onset_s -= 0.15;
        p.remove(21);
        let order = perf_order(&p).unwrap();
        let k = order.iter().position(|&i| i == 22).unwrap();
        let path = coarse_path(&s, &p, &order, &AlignConfig::default(), None, None);
        assert_eq!(s.groups()[path[k]].q, 11.0);
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[22].score_note, Some(23));
        let missed = final_missed(&a);
        assert_eq!(missed, vec![21]);
    }

    #[test]
    fn wrong_pitches_pair_cheapest_first() {
        // Notes 5 and 6 (a beat apart) are both played a semitone off; the
        // wrong note of 6 is within the window of 5 as well, but each must be
        // paired with its own.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        notes[5].pitch = 60;
        notes[6].pitch = 62;
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.2);
        p[5].pitch = 61;
        p[6].pitch = 63;
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[5].score_note, Some(5));
        assert_eq!(a.perf[6].score_note, Some(6));
        assert_eq!(a.perf[5].label, Label::WrongPitch);
    }

    #[test]
    fn wrong_note_gets_its_score_note_back_from_an_early_twin() {
        // A melody over a bass, one chord a beat; melody notes 10 and 11
        // share a pitch. Note 10 is struck a semitone off, with its bass;
        // note 11 0.2 s early (of a 0.8 s beat), and the matching took it
        // for note 10 (as a window widened by it lets it do): it is nearer
        // note 11's centre, so it moves there, freeing note 10 for the
        // wrong note.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        notes[11].pitch = notes[10].pitch;
        if notes[12].pitch == notes[11].pitch {
            notes[12].pitch += 2;
        }
        for k in 0..24 {
            notes.push(ScoreNote::simple(30 + (k % 7) as u8, k as f64, 1.0));
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.8);
        p[10].pitch += 1;
        p[11].onset_s -= 0.2;
        let cfg = AlignConfig::default();
        let order = perf_order(&p).unwrap();
        let path = coarse_path(&s, &p, &order, &cfg, None, None);
        let seg = &segments(&s, &p, &order, &path)[0];
        let anchors = anchors_from_path(&s, &p, &order, &path, seg);
        let map = TimeMap::new(&anchors.points, 0.8);
        let mut sm = match_segment(&s, &p, &order, seg, &anchors, &map, &cfg);
        let pos = |perf_index: usize| order.iter().position(|&o| o == perf_index).unwrap();
        let (early, wrong) = (pos(11), pos(10));
        assert_eq!(sm.pos_to_score[early], Some(11));
        // The matching as it went wrong.
        sm.score_to_pos[11] = None;
        sm.score_to_pos[10] = Some(early);
        sm.pos_to_score[early] = Some(10);
        free_twins_for_wrong_notes(&s, &p, &order, seg, &mut sm, &anchors, &map, &cfg);
        assert_eq!(sm.pos_to_score[early], Some(11));
        assert_eq!(sm.score_to_pos[10], None);
        assert_eq!(sm.pos_to_score[wrong], None);
    }

    #[test]
    fn two_wrong_notes_of_a_chord_both_pair() {
        // Beat 10 is the chord 57 + 60, struck 59 + 62. The cheapest pair
        // (60, 59) would leave 62 (too far from 57) and 57 both unpaired;
        // the pairing that pairs both wins.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        for k in 0..24 {
            notes.push(ScoreNote::simple(30 + (k % 7) as u8, k as f64, 1.0));
        }
        notes[10].pitch = 60;
        notes[34].pitch = 57;
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.8);
        p[10].pitch = 62;
        p[34].pitch = 59;
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(
            (a.perf[10].label, a.perf[10].score_note),
            (Label::WrongPitch, Some(10))
        );
        assert_eq!(
            (a.perf[34].label, a.perf[34].score_note),
            (Label::WrongPitch, Some(34))
        );
    }

    #[test]
    fn omitted_repeated_note_is_the_one_missed() {
        // Notes 10 and 11 share a pitch; 10 is left out: 11 must not be
        // taken for it.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        notes[11].pitch = notes[10].pitch;
        if notes[12].pitch == notes[11].pitch {
            notes[12].pitch += 1;
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.4);
        p.remove(10);
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let l = labels(&a);
        assert_eq!(l[10], Label::Missed);
        assert_eq!(l[11], Label::Match);
        assert_eq!(l.iter().filter(|&&x| x == Label::Match).count(), 23);
    }

    #[test]
    fn repeated_octaves_with_notes_left_out_keep_their_chords() {
        // Eight octaves (60 + 72), one a beat, then a melody. The upper
        // notes of the first two octaves and the lower note of the sixth are
        // left out. By pitch alone, reading each played 72 one octave early
        // (every octave split between two beats) costs the same; the
        // octaves the player struck together are the score's octaves.
        let mut notes = Vec::new();
        for k in 0..8 {
            notes.push(ScoreNote::simple(60, k as f64, 1.0));
            notes.push(ScoreNote::simple(72, k as f64, 1.0));
        }
        for (k, n) in scale(16).notes().iter().enumerate() {
            notes.push(ScoreNote::simple(n.pitch, 8.0 + k as f64, 1.0));
        }
        let s = Score::new(notes).unwrap();
        let left_out = |n: &ScoreNote| {
            (n.pitch == 72 && n.onset_q < 1.5) || (n.pitch == 60 && n.onset_q == 5.0)
        };
        let p: Vec<PerfNote> = s
            .notes()
            .iter()
            .filter(|n| !left_out(n))
            .map(|n| {
                // The upper note a little before the lower, as players do.
                let lead = if n.pitch == 72 { -0.03 } else { 0.0 };
                let t = 1.0 + n.onset_q * 0.6 + lead;
                PerfNote::new(n.pitch, t, t + 0.5, 64)
            })
            .collect();
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        for (k, r) in a.perf.iter().enumerate() {
            let n = &s.notes()[r.score_note.expect("every played note is matched")];
            let played_q = (p[k].onset_s + if p[k].pitch == 72 { 0.03 } else { 0.0 } - 1.0) / 0.6;
            assert!(
                (n.onset_q - played_q).abs() < 1e-6,
                "note {k} matched at {}",
                n.onset_q
            );
        }
        let missed = final_missed(&a);
        assert_eq!(missed.len(), 3);
        assert!(missed.iter().all(|&i| left_out(&s.notes()[i])));
    }

    #[test]
    fn ornament_before_a_chord_note_does_not_take_its_place() {
        // A melody over a bass, one chord a beat. Before the chord of beat
        // 10 the player adds a note of its melody pitch (an ornament, an
        // anticipation), 0.3 s early: the note struck with the chord is the
        // score's, the early one extra.
        let mut notes: Vec<ScoreNote> = scale(24).notes().to_vec();
        for k in 0..24 {
            notes.push(ScoreNote::simple(30 + (k % 7) as u8, k as f64, 1.0));
        }
        let s = Score::new(notes).unwrap();
        let mut p = play(&s, 0.8);
        let n = p[10];
        p.push(PerfNote::new(n.pitch, n.onset_s - 0.3, n.onset_s - 0.2, 64));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[10].label, Label::Match);
        assert_eq!(a.perf[10].score_note, Some(10));
        assert_eq!(a.perf[p.len() - 1].label, Label::Extra);
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
    }

    #[test]
    fn timing_slip_is_measured_against_local_tempo() {
        let s = scale(24);
        let mut p = play(&s, 0.4);
        p[12].onset_s += 0.15;
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let dev = a
            .notes
            .iter()
            .find(|r| r.score_note == 12)
            .unwrap()
            .timing_dev_s
            .unwrap();
        assert!((dev - 0.15).abs() < 1e-6, "{dev}");
    }

    #[test]
    fn wrong_notes_struck_in_time_keep_the_line_on_the_players_tempo() {
        // A ritardando, notes 10, 11, 13 and 14 struck in time with wrong
        // pitches: note 12, also in time, is measured against a line that
        // has them (its nearest neighbours), not one bent from farther off.
        let s = scale(24);
        let mut p: Vec<PerfNote> = s
            .notes()
            .iter()
            .map(|n| {
                let t = 1.0 + 0.3 * n.onset_q + 0.003 * n.onset_q * n.onset_q;
                PerfNote::new(n.pitch, t, t + 0.2, 64)
            })
            .collect();
        for k in [10, 11, 13, 14] {
            p[k].pitch += 2;
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        for k in [10, 11, 13, 14] {
            assert_eq!(a.perf[k].label, Label::WrongPitch);
        }
        let r = a.notes.iter().find(|r| r.score_note == 12).unwrap();
        let dev = r.timing_dev_s.unwrap();
        assert!(dev.abs() < 0.02, "{dev}");
    }

    #[test]
    fn slip_next_to_a_slip_is_measured_against_local_tempo() {
        // Uneven playing (±20 ms) and two neighbouring slips: each is
        // measured against the line through the other notes.
        let s = scale(24);
        let mut p = play(&s, 0.4);
        for (k, n) in p.iter_mut().enumerate() {
            n.onset_s += if k % 2 == 0 { 0.02 } else { -0.02 };
        }
        p[12].onset_s += 0.15;
        p[13].onset_s -= 0.1;
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        let dev = |i: usize| {
            let r = a.notes.iter().find(|r| r.score_note == i).unwrap();
            r.timing_dev_s.unwrap()
        };
        assert!((dev(12) - 0.17).abs() < 0.02, "{}", dev(12));
        assert!((dev(13) + 0.12).abs() < 0.02, "{}", dev(13));
    }

    #[test]
    fn restart_is_matched_twice() {
        let s = scale(32);
        let spq = 0.4;
        // Bars 1-4 (16 notes), then from note 8 again to the end.
        let mut p: Vec<PerfNote> = Vec::new();
        for k in 0..16 {
            let n = &s.notes()[k];
            p.push(PerfNote::new(
                n.pitch,
                k as f64 * spq,
                k as f64 * spq + 0.3,
                64,
            ));
        }
        for (step, k) in (8..32).enumerate() {
            let n = &s.notes()[k];
            let t = 8.0 + step as f64 * spq;
            p.push(PerfNote::new(n.pitch, t, t + 0.3, 64));
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 16]);
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
        assert_eq!(a.notes.len(), 32 + 8);
    }

    #[test]
    fn short_restart_of_the_last_two_chords_is_a_restart() {
        // Three-note chords; the player plays chords 0..8, goes back to
        // chord 6, plays 6 and 7 again and carries on. Re-striking them
        // where the player was costs about as much as the jump back.
        let mut notes = Vec::new();
        for k in 0..12 {
            for base in [30u8, 50, 70] {
                notes.push(ScoreNote::simple(base + k as u8, k as f64, 1.0));
            }
        }
        let s = Score::new(notes).unwrap();
        let mut p: Vec<PerfNote> = Vec::new();
        let mut t = 0.0;
        for k in (0..8).chain(6..12) {
            if k == 6 && t > 3.0 {
                t += 1.0;
            }
            for base in [30u8, 50, 70] {
                p.push(PerfNote::new(base + k as u8, t, t + 0.3, 64));
            }
            t += 0.5;
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 24]);
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
    }

    #[test]
    fn restart_of_a_chord_and_a_note_is_a_restart() {
        // Three-note chords, but beat 7 is a single note. The player plays
        // beats 0..=7, goes back to the chord of beat 6, plays it and beat 7
        // again and carries on. Lingering at beat 7 (re-striking the chord
        // just played and the note) must cost more than the jump back.
        let mut notes = Vec::new();
        for k in 0..12u8 {
            let chord: &[u8] = if k == 7 { &[50] } else { &[30, 50, 70] };
            for &base in chord {
                notes.push(ScoreNote::simple(base + k, f64::from(k), 1.0));
            }
        }
        let s = Score::new(notes).unwrap();
        let mut p: Vec<PerfNote> = Vec::new();
        let mut t = 0.0;
        for (n, k) in (0..8u8).chain(6..12).enumerate() {
            if n == 8 {
                t += 1.0;
            }
            let chord: &[u8] = if k == 7 { &[50] } else { &[30, 50, 70] };
            for &base in chord {
                p.push(PerfNote::new(base + k, t, t + 0.3, 64));
            }
            t += 0.5;
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 22]);
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
    }

    #[test]
    fn restart_after_a_chord_starts_at_its_bar() {
        // Note 15 is a chord whose upper note has note 7's pitch; the player
        // plays it, then goes back to note 8. The chord's last note belongs
        // to the first pass, and note 7 (played once) is not missed.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        let p7 = notes[7].pitch;
        if notes[15].pitch == p7 {
            notes[15].pitch = p7 - 1;
        }
        notes.push(ScoreNote::simple(p7, 15.0, 1.0));
        let s = Score::new(notes.clone()).unwrap();
        let mut p = played_from(&notes[..16], 0.0);
        p.push(PerfNote::new(p7, 6.02, 6.32, 64)); // with note 15
        let mut again = played_from(&notes[8..32], 8.0);
        again.insert(8, PerfNote::new(p7, 10.82, 11.1, 64)); // with note 15 again
        p.extend(again);
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 17]);
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
    }

    #[test]
    fn last_note_before_a_restart_stays_before_it() {
        // Note 15 has the pitch of note 8, where the player goes back to
        // after stopping on it: it belongs to the first pass.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        notes[15].pitch = notes[8].pitch;
        let s = Score::new(notes.clone()).unwrap();
        let mut p = played_from(&notes[..16], 0.0);
        p.extend(played_from(&notes[8..32], 8.0));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 16]);
        assert_eq!(a.perf[15].score_note, Some(15));
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
    }

    #[test]
    fn note_struck_before_a_quick_restart_stays_before_it() {
        // Note 16 follows a half note and has the pitch of note 8, the note
        // before the bar the player goes back to (note 9): struck on time
        // (0.8 s after note 15), then the restart after a shorter gap (0.6
        // s). Pitch alone ties between the two places for the jump; the gap
        // before note 16 is its notated length, so it belongs to the first
        // pass.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        for (k, n) in notes.iter_mut().enumerate().skip(16) {
            n.onset_q = k as f64 + 1.0;
        }
        notes[16].pitch = notes[8].pitch;
        let s = Score::new(notes.clone()).unwrap();
        let at = |k: usize, t: f64| PerfNote::new(notes[k].pitch, t, t + 0.3, 64);
        let mut p: Vec<PerfNote> = (0..16).map(|k| at(k, k as f64 * 0.4)).collect();
        p.push(at(16, 6.8));
        p.extend((9..32).map(|k| at(k, 7.4 + (notes[k].onset_q - 9.0) * 0.4)));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 17]);
        assert_eq!(a.perf[16].score_note, Some(16));
        assert!(a.perf.iter().all(|r| r.label == Label::Match));
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
    }

    #[test]
    fn restart_after_a_pause_starts_with_its_first_note() {
        // The player stops after note 15, pauses, and goes back to note 8,
        // whose pitch note 16 has as well. Pitch alone ties between taking
        // the first note after the pause for note 16 and jumping one note
        // later (the path below); the pause is not note 15's notated length,
        // so the restart begins with it.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        notes[16].pitch = notes[8].pitch;
        let s = Score::new(notes.clone()).unwrap();
        let mut p = played_from(&notes[..16], 0.0);
        p.extend(played_from(&notes[8..32], 7.2));
        let order = perf_order(&p).unwrap();
        let mut path: Vec<usize> = (0..=16).chain(9..32).collect();
        place_jumps_at_pauses(&s, &p, &order, &mut path);
        let expected: Vec<usize> = (0..16).chain(8..32).collect();
        assert_eq!(path, expected);
    }

    #[test]
    fn restart_bass_struck_before_its_chord_goes_with_the_restart() {
        // Notes 8 and 16 are the same chord over a bass (36). The player
        // stops after note 15, pauses, and goes back to note 8, striking the
        // bass 160 ms before the chord. Pitch alone ties between taking the
        // bass for note 16's and jumping after it (the path below): the
        // pause is before the bass, so it is the restart's.
        let mut main: Vec<ScoreNote> = scale(32).notes().to_vec();
        main[16].pitch = main[8].pitch;
        let mut notes = main.clone();
        notes.push(ScoreNote::simple(36, 8.0, 1.0));
        notes.push(ScoreNote::simple(36, 16.0, 1.0));
        let s = Score::new(notes).unwrap();
        let bass = |t: f64| PerfNote::new(36, t, t + 0.3, 64);
        let mut p = played_from(&main[..16], 0.0);
        p.push(bass(3.2));
        p.push(bass(6.7));
        p.extend(played_from(&main[8..32], 6.86));
        p.push(bass(9.66));
        let order = perf_order(&p).unwrap();
        let first: Vec<usize> = (0..=8).chain(8..=15).collect();
        let mut path: Vec<usize> = first.clone();
        path.extend([16, 8]);
        path.extend((9..=16).chain(16..32));
        place_jumps_at_pauses(&s, &p, &order, &mut path);
        let mut expected = first;
        expected.extend([8, 8]);
        expected.extend((9..=16).chain(16..32));
        assert_eq!(path, expected);
    }

    #[test]
    fn restart_opening_with_a_grace_note_on_its_main_note_starts_there() {
        // Note 8 has a grace note on its own pitch, which note 7 has too.
        // The player stops after note 15 and goes back to note 8: its grace
        // note and main note are one visit to its group, not a restart from
        // note 7 (which striking the pitch twice in one visit used to cost).
        let mut main: Vec<ScoreNote> = scale(32).notes().to_vec();
        let pitch = main[8].pitch;
        main[7].pitch = pitch;
        let mut notes = main.clone();
        notes.push(ScoreNote {
            grace: true,
            ..ScoreNote::simple(pitch, 8.0, 0.25)
        });
        let s = Score::new(notes).unwrap();
        let grace = |t: f64| PerfNote::new(pitch, t, t + 0.05, 64);
        let mut p = played_from(&main[..16], 0.0);
        p.push(grace(3.12));
        p.push(grace(7.0));
        p.extend(played_from(&main[8..32], 7.08));
        let order = perf_order(&p).unwrap();
        let path = coarse_path(&s, &p, &order, &AlignConfig::default(), None, None);
        assert_eq!((path[17], path[18]), (8, 8));
    }

    #[test]
    fn restart_chord_split_by_the_jump_goes_with_the_restart() {
        // The player stops after note 15 and goes back to note 8, a chord
        // whose first-struck note (upper) note 16 has too; the path took it
        // for note 16 and jumped after it.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        let upper = 96;
        notes.push(ScoreNote::simple(upper, 8.0, 1.0));
        notes.push(ScoreNote::simple(upper, 16.0, 1.0));
        let s = Score::new(notes.clone()).unwrap();
        let mut p = played_from(&notes[..16], 0.0);
        p.push(PerfNote::new(upper, 7.19, 7.4, 64));
        p.extend(played_from(&notes[8..32], 7.2));
        let order = perf_order(&p).unwrap();
        let g8 = s.group_of(8);
        let mut path: Vec<usize> = (0..16).map(|k| s.group_of(k)).collect();
        path.push(s.group_of(16));
        path.extend((8..32).map(|k| s.group_of(k)));
        place_jumps_at_pauses(&s, &p, &order, &mut path);
        assert_eq!(path[16], g8);
        assert_eq!(path[15], s.group_of(15));
    }

    #[test]
    fn chord_cut_short_by_a_restart_is_not_missed() {
        // Note 15 is a two-note chord; the player strikes its lower note,
        // goes back to note 8, and strikes the upper note on the way on.
        let mut notes: Vec<ScoreNote> = scale(32).notes().to_vec();
        let upper = 90;
        notes.push(ScoreNote::simple(upper, 15.0, 1.0));
        let s = Score::new(notes.clone()).unwrap();
        let mut p = played_from(&notes[..16], 0.0);
        let mut again = played_from(&notes[8..32], 8.0);
        again[7].pitch = upper; // note 15's upper note, its lower one struck before the stop
        p.extend(again);
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 16]);
        assert!(labels(&a).iter().all(|&l| l == Label::Match));
        let low = a.notes.iter().find(|r| r.score_note == 15 && r.is_final);
        assert_eq!(low.map(|r| r.segment), Some(0));
    }

    #[test]
    fn chord_with_a_wrong_note_cut_short_by_a_restart_stays_before_it() {
        // Sixteen two-note chords (melody 60 + k, bass 30 + k), one a beat
        // (0.5 s). Chord 14 is 81 + 50; the player strikes 80 (wrong) and
        // 50 there, 40 ms apart, stops and 0.6 s later goes back to chord 5.
        // By pitch the two notes read as well the restart's: 80 in chord 3,
        // 50 in chord 4 (a wrong note costs more than a note of another
        // group). But they were struck as one chord, where chord 14 was due,
        // and chords 3 and 4 would have to follow each other in 40 ms and be
        // followed by chord 5 after 0.6 s, not 0.5.
        let mut notes = Vec::new();
        for k in 0..16u8 {
            let (melody, bass) = match k {
                3 => (80, 33),
                4 => (64, 50),
                14 => (81, 50),
                _ => (60 + k, 30 + k),
            };
            notes.push(ScoreNote::simple(melody, f64::from(k), 1.0));
            notes.push(ScoreNote::simple(bass, f64::from(k), 1.0));
        }
        let s = Score::new(notes).unwrap();
        let chord = |k: usize, t: f64| {
            let n = &s.notes()[2 * k..2 * k + 2];
            [
                PerfNote::new(n[0].pitch, t, t + 0.4, 64),
                PerfNote::new(n[1].pitch, t, t + 0.4, 64),
            ]
        };
        let mut p: Vec<PerfNote> = (0..14)
            .flat_map(|k| chord(k, 1.0 + 0.5 * k as f64))
            .collect();
        p.push(PerfNote::new(80, 8.0, 8.3, 64));
        p.push(PerfNote::new(50, 8.04, 8.3, 64));
        p.extend((5..16).flat_map(|k| chord(k, 8.64 + 0.5 * (k - 5) as f64)));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 30]);
        assert_eq!(a.perf[29].score_note, Some(29), "the bass of chord 14");
        assert_eq!(a.perf[28].label, Label::WrongPitch);
        assert_eq!(a.perf[28].score_note, Some(28));
        // Chords 3 and 4 were played in the first pass and not missed.
        for r in a
            .notes
            .iter()
            .filter(|r| r.is_final && (6..10).contains(&r.score_note))
        {
            assert_eq!(r.label, Label::Match, "score note {}", r.score_note);
        }
    }

    #[test]
    fn lone_note_of_a_chord_cut_short_stays_before_the_restart() {
        // Three-note chords, one a beat (0.5 s). The player strikes only
        // the top of chord 14 (a little late), whose pitch chord 4 has too,
        // stops and goes back to chord 5, then plays on to the end. By pitch
        // the note closes the first pass or opens the restart as chord 4's,
        // and the gaps lean to the restart (0.6 s before it, 0.5 s after);
        // but a restart begins with a whole chord, and chord 4, played in the
        // first pass, must not be missed.
        let s = triads(|k| match k {
            4 => [64, 76, 34],
            14 => [76, 59, 44],
            _ => [60 + k, 45 + k, 30 + k],
        });
        let mut p = strike_triads(&s, 0..14, 1.0);
        p.push(PerfNote::new(76, 8.1, 8.3, 64));
        p.extend(strike_triads(&s, 5..20, 8.6));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.perf[42].score_note, Some(42), "the top of chord 14");
        assert_eq!(a.segment_starts, vec![0, 43]);
        assert!(
            final_missed(&a).is_empty(),
            "missed: {:?}",
            final_missed(&a)
        );
    }

    #[test]
    fn chord_played_then_begun_again_with_one_note_is_not_missed() {
        // Three-note chords, one a beat. The player plays chords 0..15,
        // goes back to chord 5 striking only its top note, then plays on
        // from chord 6: chord 5's other notes were played in the first pass.
        let s = triads(|k| [60 + k, 45 + k, 30 + k]);
        let mut p = strike_triads(&s, 0..15, 1.0);
        p.push(PerfNote::new(65, 9.0, 9.4, 64));
        p.extend(strike_triads(&s, 6..20, 9.5));
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 45]);
        assert_eq!(a.perf[45].score_note, Some(15), "the top of chord 5");
        assert!(
            final_missed(&a).is_empty(),
            "missed: {:?}",
            final_missed(&a)
        );
        let top = a.notes.iter().find(|r| r.score_note == 15 && r.is_final);
        assert_eq!(top.map(|r| r.segment), Some(1));
    }

    #[test]
    fn restart_in_repeated_music_goes_back_to_the_nearer_copy() {
        // Notes 24..40 repeat notes 0..16 literally. The player stops before
        // 34, goes back to 28, stops before 36, goes back to 30 and plays on.
        // Going back to the first copy (4) and then forward to 30 costs two
        // jumps as well; the nearer jumps must win.
        let mut notes: Vec<ScoreNote> = scale(48).notes().to_vec();
        for k in 0..16 {
            notes[24 + k].pitch = notes[k].pitch;
        }
        let s = Score::new(notes).unwrap();
        let spq = 0.4;
        let mut p: Vec<PerfNote> = Vec::new();
        let mut truth = Vec::new();
        let mut t = 0.0;
        for k in (0..34).chain(28..36).chain(30..48) {
            let n = &s.notes()[k];
            if k == 28 || (k == 30 && truth.len() > 40) {
                t += 1.0;
            }
            p.push(PerfNote::new(n.pitch, t, t + 0.3, 64));
            truth.push(k);
            t += spq;
        }
        let a = assess(&s, &p, &AlignConfig::default()).unwrap();
        assert_eq!(a.segment_starts, vec![0, 34, 42]);
        for (r, &k) in a.perf.iter().zip(&truth) {
            assert_eq!((r.label, r.score_note), (Label::Match, Some(k)));
        }
    }

    #[test]
    fn jump_sources_prefer_the_nearer_group() {
        let groups: Vec<Group> = scale(6).groups().to_vec();
        let prev = [1.0, 5.0, 5.0, 5.0, 1.0, 5.0];
        let mut out = vec![(INF, 0); 6];
        jump_sources(&prev, &groups, 0.01, &mut out);
        assert_eq!(out[1].1, 0);
        assert_eq!(out[3].1, 4);
        assert_eq!(out[0].1, 4);
        assert_eq!(out[4].1, 0); // its own cost left out
        assert!((out[2].0 - 1.02).abs() < 1e-6);
    }

    #[test]
    fn empty_performance_misses_everything() {
        let s = scale(4);
        let a = assess(&s, &[], &AlignConfig::default()).unwrap();
        assert!(labels(&a).iter().all(|&l| l == Label::Missed));
    }

    /// Octaves split into two notes 0.12 s apart, one octave each 0.24 s
    /// (the notated tempo), the take stopped half-way: pitch alone reads
    /// one note per octave (no group ends short, so none is missed), twice
    /// the speed; at the playing's pace two notes go to each octave.
    #[test]
    fn moving_on_faster_than_the_pace_costs() {
        let notes: Vec<ScoreNote> = (0..24)
            .flat_map(|k| {
                let q = 0.5 * f64::from(k);
                [ScoreNote::simple(60, q, 0.5), ScoreNote::simple(72, q, 0.5)]
            })
            .collect();
        let s = Score::new(notes).unwrap();
        let p: Vec<PerfNote> = (0..12)
            .flat_map(|k| {
                let t = 1.0 + 0.24 * f64::from(k);
                [
                    PerfNote::new(60, t, t + 0.1, 64),
                    PerfNote::new(72, t + 0.12, t + 0.2, 64),
                ]
            })
            .collect();
        let order = perf_order(&p).unwrap();
        let cfg = AlignConfig::default();
        let first = coarse_path(&s, &p, &order, &cfg, None, None);
        assert_eq!(first[23], 23, "pitch alone reads one note per octave");
        let pace = vec![0.24 / (s.groups()[1].s - s.groups()[0].s); p.len()];
        let second = coarse_path(&s, &p, &order, &cfg, Some(&pace), Some(&first));
        let want: Vec<usize> = (0..24).map(|j| j / 2).collect();
        assert_eq!(second, want);
    }

    /// The pace pools the first path's steps widely: a stretch it read twice
    /// too fast does not set the pace there.
    #[test]
    fn the_pace_is_the_playing_around_a_misread_stretch() {
        let s = scale(60);
        let p = play(&s, 0.5);
        let order = perf_order(&p).unwrap();
        // Notes 0..=5 read two groups a note (0, 2, …, 10), then the rest
        // where they belong.
        let path: Vec<usize> = (0..60).map(|j| if j < 6 { 2 * j } else { j }).collect();
        let pace = playing_pace(&s, &p, &order, &path);
        let notated = s.groups()[1].s - s.groups()[0].s;
        for &x in &pace[..6] {
            assert!((x * notated - 0.5).abs() < 1e-9, "{x}");
        }
    }

    /// The rhythm pass keeps the first path when that costs no more in full.
    #[test]
    fn the_first_path_stays_when_no_dearer() {
        let s = scale(30);
        let p = play(&s, 0.5);
        let order = perf_order(&p).unwrap();
        let cfg = AlignConfig::default();
        let first = coarse_path(&s, &p, &order, &cfg, None, None);
        let pace = playing_pace(&s, &p, &order, &first);
        let second = coarse_path(&s, &p, &order, &cfg, Some(&pace), Some(&first));
        assert_eq!(first, second);
        assert_eq!(first, (0..30).collect::<Vec<_>>());
    }
}
