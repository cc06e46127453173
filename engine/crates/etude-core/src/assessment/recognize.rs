//! Piece recognition: which piece of a library an attempt is playing, and
//! where, from its first notes.
//!
//! Built to scale to thousands of pieces: an **inverted index** of
//! transposition-invariant pitch-interval n-grams, then a short local
//! alignment of the few best candidates only.
//!
//! 1. **Groups.** A piece is reduced to its onset groups (notes that start
//!    together). A performance is grouped the same way, notes within
//!    `chord_window_s` of a group's first note being one group (chords are
//!    never struck exactly together) — and, for the look-up only, a second
//!    time with a window `WIDE` times longer (slow or rolled chords).
//! 2. **Index.** Four kinds of keys: `ngram` successive
//!    intervals of the top line (each group's highest pitch, usually the
//!    melody), of the bass line, the top line's intervals with their rhythm
//!    (classes of successive inter-onset ratios), and the chord shapes of two
//!    successive groups with the bass interval between them. Intervals make
//!    every key transposition-invariant. Postings: (piece, group, reference
//!    pitch).
//! 3. **Voting.** Each key of the query votes, weighted by its rarity
//!    (`ln(1 + postings / df)`), for (piece, transposition, estimated start
//!    group / `BIN`); keys too common to tell are skipped. The best-voted
//!    places, at most `candidates` (several per piece when they are apart),
//!    go on.
//! 4. **Verification.** A local alignment of the query's groups against the
//!    candidate's groups around the voted start (a window, not the whole
//!    piece): a query note found in its score group gains 1, one that is not
//!    loses `miss_penalty`; score groups may be skipped (`skip_penalty`
//!    each), a performed group may repeat its score group (a chord struck
//!    apart, `stay_penalty`); the start is free. The confidence is the best
//!    alignment's score over the query's notes (0 … 1); the place is the
//!    score group where that alignment starts. Places of one piece that tie
//!    (a repeat played note for note) give the first.
//!
//! Whether the best confidence is high enough to name the piece ("unknown"
//! otherwise) is the caller's call; the benchmark measures where to cut.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::error::AssessmentError;
use super::score::{perf_order, PerfNote};

/// Estimated start positions are voted for in bins of this many groups.
const BIN: i32 = 8;
/// The query is also grouped with a chord window this many times wider.
const WIDE: f64 = 2.5;
/// Intervals are clamped to this many semitones either way.
const MAX_INTERVAL: i32 = 24;

/// A small multiplicative hasher for integer keys (the standard SipHash is
/// several times slower on the voting path, and no key comes from outside).
#[derive(Default, Clone, Copy)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        // Fold the well-mixed high bits into the low ones the table indexes by.
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_i32(&mut self, x: i32) {
        self.write_u64(u64::from(x as u32));
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// One note of a library piece, as the index needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexNote {
    pub pitch: u8,
    /// Onset in quarters (any unit: only equality and order matter).
    pub onset_q: f64,
    /// Bar (measure number) of the note.
    pub bar: i32,
}

/// Tuning of the index and of [`PieceIndex::recognize`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizeConfig {
    /// Intervals per key (a key spans `ngram + 1` groups).
    pub ngram: usize,
    /// Performed notes used from the start of the attempt.
    pub max_query_notes: usize,
    /// Performed notes within this many seconds of a group's first note are one group.
    pub chord_window_s: f64,
    /// (piece, transposition) candidates verified by alignment.
    pub candidates: usize,
    /// Keys held by more than this share of all postings are ignored (too common to tell).
    pub max_key_share: f64,
    pub miss_penalty: f64,
    pub skip_penalty: f64,
    pub stay_penalty: f64,
    /// Score groups the alignment may skip at once.
    pub max_skip: usize,
}

impl Default for RecognizeConfig {
    fn default() -> Self {
        Self {
            ngram: 3,
            max_query_notes: 40,
            chord_window_s: 0.04,
            candidates: 24,
            max_key_share: 0.005,
            miss_penalty: 0.5,
            skip_penalty: 0.3,
            stay_penalty: 0.3,
            max_skip: 4,
        }
    }
}

impl RecognizeConfig {
    fn validate(&self) -> Result<(), AssessmentError> {
        let bad =
            |name: &'static str, value: f64| Err(AssessmentError::BadParameter { name, value });
        if !(1..=3).contains(&self.ngram) {
            return bad("ngram", self.ngram as f64);
        }
        if self.max_query_notes < self.ngram + 1 {
            return bad("max_query_notes", self.max_query_notes as f64);
        }
        if !(self.chord_window_s.is_finite() && self.chord_window_s >= 0.0) {
            return bad("chord_window_s", self.chord_window_s);
        }
        if self.candidates == 0 {
            return bad("candidates", 0.0);
        }
        if !(self.max_key_share > 0.0 && self.max_key_share <= 1.0) {
            return bad("max_key_share", self.max_key_share);
        }
        for (name, v) in [
            ("miss_penalty", self.miss_penalty),
            ("skip_penalty", self.skip_penalty),
            ("stay_penalty", self.stay_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, v);
            }
        }
        if self.max_skip == 0 {
            return bad("max_skip", 0.0);
        }
        Ok(())
    }
}

/// An onset group of a piece.
#[derive(Debug, Clone, PartialEq)]
struct IxGroup {
    /// Sorted, deduplicated pitches.
    pitches: Vec<u8>,
    bar: i32,
    onset_q: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    piece: u32,
    group: u32,
    first_pitch: u8,
}

/// Where an attempt was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    /// Index of the piece, in the order pieces were added.
    pub piece: usize,
    /// Bar of the score group the attempt's first matched notes fall in.
    pub bar: i32,
    /// Onset of that group (quarters, as given to [`PieceIndex::add_piece`]).
    pub onset_q: f64,
    /// That group's position among the piece's onset groups.
    pub group: usize,
    /// Alignment score over the query's notes, 0 … 1.
    pub confidence: f64,
    /// Semitones the attempt is above the score (0 when played as written).
    pub transposition: i32,
    /// The index's vote for this candidate (for diagnostics).
    pub votes: f64,
}

/// The library index: pieces' onset groups and the n-gram postings.
#[derive(Debug, Clone)]
pub struct PieceIndex {
    cfg: RecognizeConfig,
    pieces: Vec<Vec<IxGroup>>,
    postings: IntMap<u64, Vec<Posting>>,
    total_postings: usize,
}

fn clamp_interval(a: u8, b: u8) -> u64 {
    let d = (i32::from(b) - i32::from(a)).clamp(-MAX_INTERVAL, MAX_INTERVAL);
    (d + MAX_INTERVAL) as u64
}

/// Coarse class of the ratio of two successive inter-onset intervals:
/// shorter, about the same, longer (wide enough for rubato).
fn ratio_class(a: f64, b: f64) -> u64 {
    if !(a > 0.0 && b > 0.0) {
        return 3;
    }
    let r = b / a;
    if r < 0.75 {
        0
    } else if r <= 1.34 {
        1
    } else {
        2
    }
}

/// Pitch classes of a group above its lowest note, as a 12-bit mask.
fn chord_mask(g: &[u8]) -> u64 {
    let low = g.first().copied().unwrap_or(0);
    g.iter().fold(0, |m, &p| m | 1 << ((p - low) % 12))
}

/// Every key of a sequence of groups (sorted pitches) with their onsets:
/// (key, position of its first group, reference pitch for the transposition).
///
/// Four kinds (top 2 bits): the top line's `ngram` intervals; the bass
/// line's; the top line's intervals with the classes of its inter-onset
/// ratios (rhythm tells repeated notes apart); the chord shapes of two
/// successive groups with the bass interval between them.
fn keys(groups: &[Vec<u8>], onsets: &[f64], ngram: usize) -> Vec<(u64, usize, u8)> {
    const TOP: u64 = 0;
    const BASS: u64 = 1;
    const RHYTHM: u64 = 2;
    const CHORDS: u64 = 3;
    let tag = |kind: u64, payload: u64| (kind << 60) | payload;
    let top: Vec<u8> = groups.iter().map(|g| *g.last().unwrap_or(&0)).collect();
    let bass: Vec<u8> = groups.iter().map(|g| *g.first().unwrap_or(&0)).collect();
    let n = groups.len();
    let mut out = Vec::with_capacity(n * 4);
    for k in 0..n {
        if k + ngram < n {
            let (mut kt, mut kb) = (0u64, 0u64);
            for i in k..k + ngram {
                kt = (kt << 6) | clamp_interval(top[i], top[i + 1]);
                kb = (kb << 6) | clamp_interval(bass[i], bass[i + 1]);
            }
            let mut kr = kt;
            for i in k + 1..k + ngram {
                let a = onsets[i] - onsets[i - 1];
                let b = onsets[i + 1] - onsets[i];
                kr = (kr << 2) | ratio_class(a, b);
            }
            out.push((tag(TOP, kt), k, top[k]));
            out.push((tag(BASS, kb), k, bass[k]));
            out.push((tag(RHYTHM, kr), k, top[k]));
        }
        if k + 1 < n {
            let kc = (chord_mask(&groups[k]) << 18)
                | (chord_mask(&groups[k + 1]) << 6)
                | clamp_interval(bass[k], bass[k + 1]);
            out.push((tag(CHORDS, kc), k, bass[k]));
        }
    }
    out
}

/// Groups performed notes (in (onset, pitch) order) into struck chords.
fn perf_groups(perf: &[PerfNote], order: &[usize], window_s: f64) -> (Vec<Vec<u8>>, Vec<f64>) {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut onsets: Vec<f64> = Vec::new();
    for &i in order {
        let p = &perf[i];
        match (out.last_mut(), onsets.last()) {
            (Some(g), Some(&start)) if p.onset_s - start <= window_s => g.push(p.pitch),
            _ => {
                onsets.push(p.onset_s);
                out.push(vec![p.pitch]);
            }
        }
    }
    for g in &mut out {
        g.sort_unstable();
        g.dedup();
    }
    (out, onsets)
}

impl PieceIndex {
    /// An empty index.
    ///
    /// # Errors
    /// [`AssessmentError::BadParameter`] for an out-of-range setting.
    pub fn new(cfg: RecognizeConfig) -> Result<Self, AssessmentError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            pieces: Vec::new(),
            postings: IntMap::default(),
            total_postings: 0,
        })
    }

    #[must_use]
    pub fn config(&self) -> &RecognizeConfig {
        &self.cfg
    }

    /// Number of pieces.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Distinct keys and postings held (a measure of the index's size).
    #[must_use]
    pub fn size(&self) -> (usize, usize) {
        (self.postings.len(), self.total_postings)
    }

    /// Onset groups of piece `piece`.
    ///
    /// # Errors
    /// [`AssessmentError::UnknownPiece`] for an index out of range.
    pub fn group_count(&self, piece: usize) -> Result<usize, AssessmentError> {
        self.pieces
            .get(piece)
            .map(Vec::len)
            .ok_or(AssessmentError::UnknownPiece { index: piece })
    }

    /// Adds a piece (its notes in any order) and returns its index.
    ///
    /// # Errors
    /// [`AssessmentError::EmptyScore`] without notes,
    /// [`AssessmentError::BadScoreNote`] for a non-finite onset or a pitch above 127.
    pub fn add_piece(&mut self, notes: &[IndexNote]) -> Result<usize, AssessmentError> {
        if notes.is_empty() {
            return Err(AssessmentError::EmptyScore);
        }
        for (index, n) in notes.iter().enumerate() {
            if !n.onset_q.is_finite() {
                return Err(AssessmentError::BadScoreNote {
                    index,
                    field: "onset_q",
                    value: n.onset_q,
                });
            }
            if n.pitch > 127 {
                return Err(AssessmentError::BadScoreNote {
                    index,
                    field: "pitch",
                    value: f64::from(n.pitch),
                });
            }
        }
        let mut sorted = notes.to_vec();
        sorted.sort_by(|a, b| a.onset_q.total_cmp(&b.onset_q).then(a.pitch.cmp(&b.pitch)));
        let mut groups: Vec<IxGroup> = Vec::new();
        for n in &sorted {
            match groups.last_mut() {
                Some(g) if (n.onset_q - g.onset_q).abs() <= 1e-6 => {
                    g.pitches.push(n.pitch);
                    g.bar = g.bar.min(n.bar);
                }
                _ => groups.push(IxGroup {
                    pitches: vec![n.pitch],
                    bar: n.bar,
                    onset_q: n.onset_q,
                }),
            }
        }
        for g in &mut groups {
            g.pitches.dedup();
        }
        let piece = self.pieces.len();
        let piece_u32 =
            u32::try_from(piece).map_err(|_| AssessmentError::UnknownPiece { index: piece })?;
        let pitch_groups: Vec<Vec<u8>> = groups.iter().map(|g| g.pitches.clone()).collect();
        let onsets: Vec<f64> = groups.iter().map(|g| g.onset_q).collect();
        for (key, k, first_pitch) in keys(&pitch_groups, &onsets, self.cfg.ngram) {
            let posting = Posting {
                piece: piece_u32,
                group: k as u32,
                first_pitch,
            };
            self.postings.entry(key).or_default().push(posting);
            self.total_postings += 1;
        }
        self.pieces.push(groups);
        Ok(piece)
    }

    /// The best candidates for the start of `perf`, best first (at most
    /// `candidates`), each verified by alignment. Empty when the query has
    /// too few notes or nothing in the index shares its n-grams.
    ///
    /// # Errors
    /// [`AssessmentError::BadPerfNote`] for an unusable performed note.
    pub fn rank(&self, perf: &[PerfNote]) -> Result<Vec<Recognition>, AssessmentError> {
        let order = perf_order(perf)?;
        let take = order.len().min(self.cfg.max_query_notes);
        let (query, onsets) = perf_groups(perf, &order[..take], self.cfg.chord_window_s);
        if query.len() <= self.cfg.ngram || self.pieces.is_empty() {
            return Ok(Vec::new());
        }
        // Voting, with the query grouped twice: chords struck apart by up to
        // `chord_window_s`, and by up to `WIDE` times that (slow, rolled chords).
        let max_df = ((self.total_postings as f64 * self.cfg.max_key_share) as usize).max(64);
        let mut votes: IntMap<(u32, i32, i32), f64> = IntMap::default();
        let (wide, wide_onsets) = perf_groups(perf, &order[..take], self.cfg.chord_window_s * WIDE);
        let mut query_keys = keys(&query, &onsets, self.cfg.ngram);
        // Positions count the narrow groups: a wide group's is that of the
        // narrow group holding its first note (else the start estimates of
        // the two groupings drift apart along the query).
        query_keys.extend(keys(&wide, &wide_onsets, self.cfg.ngram).into_iter().map(
            |(key, k, pitch)| {
                let narrow = onsets.partition_point(|&t| t <= wide_onsets[k]);
                (key, narrow.saturating_sub(1), pitch)
            },
        ));
        query_keys.sort_unstable();
        query_keys.dedup();
        for (key, k, pitch) in query_keys {
            let Some(list) = self.postings.get(&key) else {
                continue;
            };
            if list.len() > max_df {
                continue;
            }
            let weight = (1.0 + self.total_postings as f64 / list.len() as f64).ln();
            for p in list {
                let transposition = i32::from(pitch) - i32::from(p.first_pitch);
                let start = p.group as i32 - k as i32;
                *votes
                    .entry((p.piece, transposition, start.div_euclid(BIN)))
                    .or_insert(0.0) += weight;
            }
        }
        // Smooth over neighbouring bins; keep the best places, several per
        // (piece, transposition) when they are apart (repeated passages).
        let mut ranked: Vec<((u32, i32, i32), f64)> = votes
            .iter()
            .map(|(&(piece, tr, bin), &v)| {
                let around = v
                    + votes.get(&(piece, tr, bin - 1)).copied().unwrap_or(0.0)
                    + votes.get(&(piece, tr, bin + 1)).copied().unwrap_or(0.0);
                ((piece, tr, bin), around)
            })
            .collect();
        // Only the best few hundred can matter: select them, then sort those.
        let keep = (self.cfg.candidates * 16).min(ranked.len());
        if keep > 0 && keep < ranked.len() {
            ranked.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(keep);
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut cands: Vec<((u32, i32), (f64, i32))> = Vec::new();
        for ((piece, tr, bin), v) in ranked {
            if cands.len() >= self.cfg.candidates {
                break;
            }
            let near = cands
                .iter()
                .any(|&((p, t), (_, b))| p == piece && t == tr && (b - bin).abs() <= 3);
            if !near {
                cands.push(((piece, tr), (v, bin)));
            }
        }
        // Verification.
        let total_notes: usize = query.iter().map(Vec::len).sum();
        let mut out: Vec<Recognition> = cands
            .into_iter()
            .filter_map(|((piece, tr), (v, bin))| {
                let groups = &self.pieces[piece as usize];
                let centre = bin * BIN + BIN / 2;
                // Start estimates drift with missed or extra groups: a margin
                // that grows with the query.
                let lo = (centre - BIN * 2 - 16 - query.len() as i32 / 2).max(0) as usize;
                let hi = ((centre + (query.len() as i32) * 2 + BIN * 2 + 16).max(0) as usize)
                    .min(groups.len());
                if lo >= hi {
                    return None;
                }
                let voted = (centre.max(0) as usize).saturating_sub(lo);
                let (score, start) = self.verify(&query, &groups[lo..hi], tr, voted);
                let g = lo + start;
                Some(Recognition {
                    piece: piece as usize,
                    bar: groups[g].bar,
                    onset_q: groups[g].onset_q,
                    group: g,
                    confidence: (score / total_notes as f64).clamp(0.0, 1.0),
                    transposition: tr,
                    votes: v,
                })
            })
            .collect();
        // One entry per place found (windows of near places overlap).
        out.sort_by(|a, b| {
            (a.piece, a.group, a.transposition)
                .cmp(&(b.piece, b.group, b.transposition))
                .then(b.confidence.total_cmp(&a.confidence))
        });
        out.dedup_by(|b, a| {
            (a.piece, a.group, a.transposition) == (b.piece, b.group, b.transposition)
        });
        // Best alignment first; a passage that comes back note for note
        // (repeats, a recapitulation) scores the same at every return: the
        // first occurrence is named.
        let q = |c: f64| (c * 1e6).round() as i64;
        out.sort_by(|a, b| {
            q(b.confidence)
                .cmp(&q(a.confidence))
                .then(b.votes.total_cmp(&a.votes))
                .then(a.piece.cmp(&b.piece))
                .then(a.group.cmp(&b.group))
        });
        if let Some(top) = out.first() {
            let (piece, conf) = (top.piece, q(top.confidence));
            let first = (0..out.len())
                .filter(|&k| out[k].piece == piece && q(out[k].confidence) == conf)
                .min_by_key(|&k| out[k].group);
            if let Some(k) = first {
                let chosen = out.remove(k);
                out.insert(0, chosen);
            }
        }
        Ok(out)
    }

    /// The best candidate for the start of `perf`, if any (see [`Self::rank`]).
    ///
    /// # Errors
    /// As [`Self::rank`].
    pub fn recognize(&self, perf: &[PerfNote]) -> Result<Option<Recognition>, AssessmentError> {
        Ok(self.rank(perf)?.into_iter().next())
    }

    /// Local alignment of the query's groups to `groups` (the query
    /// transposed down by `tr`): (best score, window group where the matched
    /// part starts; ties go to the start nearest `voted`).
    fn verify(&self, query: &[Vec<u8>], groups: &[IxGroup], tr: i32, voted: usize) -> (f64, usize) {
        let w = groups.len();
        let cfg = &self.cfg;
        let gain = |q: &[u8], g: &IxGroup| -> f64 {
            let mut s = 0.0;
            for &p in q {
                let want = i32::from(p) - tr;
                let hit = u8::try_from(want).is_ok_and(|x| g.pitches.binary_search(&x).is_ok());
                s += if hit { 1.0 } else { -cfg.miss_penalty };
            }
            s
        };
        // prev[j]: best score with the previous query group on window group j.
        let mut prev = vec![f64::NEG_INFINITY; w];
        let mut prev_start = vec![0usize; w];
        let mut cur = vec![f64::NEG_INFINITY; w];
        let mut cur_start = vec![0usize; w];
        // Cost of leaving the query's first groups unmatched (a fresh start later).
        let mut skipped_notes = 0.0;
        for q in query {
            for j in 0..w {
                let g = gain(q, &groups[j]);
                // A fresh start here: earlier query notes count as misses.
                let mut best = -cfg.miss_penalty * skipped_notes;
                let mut start = j;
                if prev[j] - cfg.stay_penalty > best {
                    best = prev[j] - cfg.stay_penalty;
                    start = prev_start[j];
                }
                for k in 1..=cfg.max_skip.min(j) {
                    let v = prev[j - k] - cfg.skip_penalty * (k - 1) as f64;
                    if v > best {
                        best = v;
                        start = prev_start[j - k];
                    }
                }
                cur[j] = best + g;
                cur_start[j] = start;
            }
            skipped_notes += q.len() as f64;
            std::mem::swap(&mut prev, &mut cur);
            std::mem::swap(&mut prev_start, &mut cur_start);
        }
        // The best end; among equal ones (a passage repeated inside the
        // window), the one starting nearest the voted place.
        let mut best = (f64::NEG_INFINITY, 0usize);
        for j in 0..w {
            let (v, start) = (prev[j], prev_start[j]);
            let nearer = start.abs_diff(voted) < best.1.abs_diff(voted);
            if v > best.0 + 1e-9 || (v > best.0 - 1e-9 && nearer) {
                best = (v, start);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A piece: a melody over a bass note every other melody note, 4 notes a bar.
    fn piece(melody: &[u8], bass: u8) -> Vec<IndexNote> {
        let mut out = Vec::new();
        for (k, &p) in melody.iter().enumerate() {
            let q = k as f64;
            out.push(IndexNote {
                pitch: p,
                onset_q: q,
                bar: 1 + (k / 4) as i32,
            });
            if k % 2 == 0 {
                out.push(IndexNote {
                    pitch: bass - (k % 5) as u8,
                    onset_q: q,
                    bar: 1 + (k / 4) as i32,
                });
            }
        }
        out
    }

    fn melody(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed;
        let mut p = 72i32;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                p = (p + ((x >> 33) % 9) as i32 - 4).clamp(60, 90);
                p as u8
            })
            .collect()
    }

    fn play(notes: &[IndexNote], from_q: f64, spq: f64, shift: i32) -> Vec<PerfNote> {
        notes
            .iter()
            .filter(|n| n.onset_q >= from_q)
            .enumerate()
            .map(|(i, n)| {
                // Chords a little spread, as played.
                let t = (n.onset_q - from_q) * spq + 0.005 * (i % 3) as f64;
                PerfNote::new((i32::from(n.pitch) + shift) as u8, t, t + spq, 64)
            })
            .collect()
    }

    fn library() -> (PieceIndex, Vec<Vec<IndexNote>>) {
        let mut ix = PieceIndex::new(RecognizeConfig::default()).unwrap();
        let pieces: Vec<Vec<IndexNote>> = (0..50).map(|s| piece(&melody(s, 120), 48)).collect();
        for p in &pieces {
            ix.add_piece(p).unwrap();
        }
        (ix, pieces)
    }

    #[test]
    fn finds_the_piece_and_the_bar() {
        let (ix, pieces) = library();
        for (want, from_q) in [(7usize, 0.0), (23, 40.0), (41, 83.0)] {
            let r = ix
                .recognize(&play(&pieces[want], from_q, 0.4, 0))
                .unwrap()
                .unwrap();
            assert_eq!(r.piece, want);
            assert_eq!(r.bar, 1 + (from_q as i32) / 4);
            assert!(r.confidence > 0.9, "{r:?}");
            assert_eq!(r.transposition, 0);
        }
    }

    #[test]
    fn transposed_and_with_mistakes() {
        let (ix, pieces) = library();
        let mut perf = play(&pieces[12], 20.0, 0.5, 3);
        perf.remove(6);
        perf[10].pitch += 1;
        let r = ix.recognize(&perf).unwrap().unwrap();
        assert_eq!((r.piece, r.bar, r.transposition), (12, 6, 3));
        assert!(r.confidence > 0.7, "{r:?}");
    }

    #[test]
    fn a_piece_outside_the_library_scores_low() {
        let (ix, _) = library();
        let other = piece(&melody(999, 60), 50);
        let best = ix.recognize(&play(&other, 0.0, 0.4, 0)).unwrap();
        assert!(best.map_or(0.0, |r| r.confidence) < 0.5);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(PieceIndex::new(RecognizeConfig {
            ngram: 0,
            ..RecognizeConfig::default()
        })
        .is_err());
        let mut ix = PieceIndex::new(RecognizeConfig::default()).unwrap();
        assert_eq!(ix.add_piece(&[]), Err(AssessmentError::EmptyScore));
        assert_eq!(
            ix.group_count(0),
            Err(AssessmentError::UnknownPiece { index: 0 })
        );
        assert!(ix.recognize(&[]).unwrap().is_none());
        let bad = PerfNote::new(60, f64::NAN, 1.0, 60);
        assert!(ix.recognize(&[bad]).is_err());
    }
}
