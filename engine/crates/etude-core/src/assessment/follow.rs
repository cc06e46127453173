//! The online score follower: causal, one call per performed note.
//!
//! State: the current onset group `c` (the furthest group matched in this
//! pass), the time its first note was struck, and a local tempo (seconds per
//! quarter) from the last few matched groups. For each incoming note:
//!
//! 1. **Local window.** Every onset group from `c - 2` to `c + window` that
//!    holds the note's pitch, not yet struck in this pass, is a candidate.
//!    Its cost: for `c` itself, the chord spread so far; for an earlier
//!    group, a late chord note (or, for `c - 1` with none of it struck, a
//!    note that came just after `c`'s); for a later group, the groups skipped over
//!    (`skip_cost` each) plus the timing against the local tempo — arriving
//!    *early* costs a lot (`early_weight` × log ratio: the note belongs to a
//!    nearer group), arriving *late* costs little and is capped (rubato, a
//!    pause before resuming). The cheapest candidate under `max_cost` is the
//!    match; otherwise the note is extra and the position stays. An extra
//!    note is reported where it was played: on the next group once that
//!    group's onset is due (a wrong note on the beat), one group per note;
//!    going past a group where extra notes were played costs less than
//!    skipping an unplayed one (a chord played all wrong is no omission),
//!    and a group before one where they were played costs more (the player
//!    went past it) — so does a group whose chord was played wrong (two
//!    extra notes in a row, each within two semitones of one of its notes),
//!    for a note coming half-way on to the group after it. A chord struck as a block is not taken for a roll
//!    still coming, and a chord being rolled keeps its pace: once two of
//!    its notes are struck, a note more than `ROLL_PACE` times its slowest
//!    step so far after its latest (and over `ROLL_MIN`) is no late note of
//!    it — a chord with a note left out or played wrong is not still being
//!    rolled (the note is a later group's, or an extra note on a later
//!    beat). An extra note struck with the chord's notes (within `chord_s`,
//!    chained) counts as one of its notes for both: a chord note played
//!    wrong is struck with the chord all the same. So an extra note placed
//!    elsewhere than the group of a note matched in time just after it
//!    (cost at most `TAIL_COST`, struck within `chord_s`, chained, with no
//!    note of another group matched between) is moved to that group (in
//!    `revised_extra`): it was that chord's note played wrong, struck
//!    before the rest — when the group before still looked rolled on or
//!    not yet over, or, in a chord struck late, when the next group was
//!    already due. Before anything is
//!    recognised, an extra note is placed at the start of the score (where
//!    the follower looks first).
//! 2. **Restart candidates.** Notes that were extra or only matched at a
//!    cost above `lost_cost` (a skip) are *doubtful*; the recent notes from
//!    the first doubtful one on (at most `max_lost`) are kept. On a doubtful
//!    note with another one among them, the last three pitches are looked up
//!    in an index of score pitch trigrams (notes of one or two neighbouring
//!    onset groups, chord notes in any order), at most `max_candidates`
//!    positions, nearest first; each is checked by walking the recent notes
//!    back through the score. Its story is the current track up to some
//!    lost note and the candidate from there on (the notes played well
//!    before the player went back are the track's; what the candidate read
//!    into them is dropped). The best one that explains at least three, and
//!    whose story explains three quarters of them and two more than the
//!    current track (counting
//!    one wrong pitch — an extra note within two semitones of an unstruck
//!    note where it was played — as explained; or the score just around
//!    the current position) does, over
//!    two onsets or more and with a plausible tempo (against the current
//!    estimate or a slow average of it, whichever fits: a few groups
//!    followed wrong skew the estimate), becomes the new position
//!    (a restart from an earlier bar, a skip ahead, a resumption elsewhere),
//!    and the earlier notes it explains are reported as revised. A position
//!    one or two groups behind the current one (the track ran ahead, e.g.
//!    after the player's own extra note took the next group's pitch) is
//!    weighed against the current track's matches only, and may be a
//!    single chord: the position is pulled back — unless a position
//!    elsewhere explains more of the notes (a chord the score repeats,
//!    replayed from an earlier copy), when the follower waits for more, or
//!    the next group explains them as well, each in it (the chord is
//!    written again there, and a late note before it made it look early):
//!    the position goes on to it. The group just after the current one is
//!    weighed against the track's own matches too, when it reads most of
//!    them elsewhere (a track a group behind on chords the score repeats:
//!    the pitches fit both, the doubtful timing tells; one that keeps them
//!    would only re-read a slip as a restart).
//! 3. **Revising the pass.** The walk back then goes on through the notes
//!    played before the lost ones, in this pass, while they follow one
//!    another without a stop (inter-onset times within 2× of the score's at
//!    the current tempo) and the score explains them: they were in the same
//!    pass as the new position (a chord's notes struck up to
//!    `PASS_SPREAD_S` apart: a spread chord does not end the walk; and
//!    once per walk, a note struck within `chord_s` before the one walked
//!    last but off the pass's pace is taken at a tempo within 4× of the
//!    current one, as the lost notes are: a note slipped late onto the next
//!    group's does not end it either, leaving the pass before it in the
//!    wrong copy). Those whose match changes are revised too —
//!    a passage the score repeats note for note, followed in the wrong copy
//!    until the copies part, is moved to the right copy as a whole (its
//!    extra notes too, in `revised_extra`: each where the last note before
//!    it that the new pass explains was played). The
//!    walk does not end inside a chord: the notes it took that were struck
//!    with the one it stops at (within `chord_s`, chained) stay where they
//!    were. And a single note it took alone, matched in time on the
//!    current track (cost at most `TAIL_COST`) and not struck with the new
//!    pass's first notes, stays too: it is where the player stopped, not
//!    the restart's first note (that comes after the stop). So does such a
//!    note taken last of several when one taken after it was not in time on
//!    the current track (the restart's first notes, matched there at a
//!    cost: the stop note is the last one played in time). A walk that
//!    explains the current pass back to its first note goes on into the
//!    pass before (the last `BEFORE_JUMPS` pass starts are kept): the jump
//!    that began it was a wrong turn — e.g. a replay followed in a later
//!    copy of the passage, pulled back a group there — and the passes
//!    merge. The single-note rule then applies to what it takes there.
//!    And a new pass whose first notes (one or two groups) come before a
//!    bar start, notes the current track has in its flow (matched at that
//!    bar start or after it, none doubtful but for a wrong pitch), begins
//!    at the bar start when the pause before it is longer than the one
//!    before them: a restart comes after a stop, and from a bar start —
//!    those notes are where the player stopped, which the end of the bar
//!    before happened to hold too. (Notes doubtful on the track are no
//!    flow of it: a track in the wrong copy of a passage, pulled back.)
//! 4. **A chord is one group.** A chord note the current group cannot take
//!    but the next can, when the chord entered the current group late (past
//!    the midpoint to the next group's time) — or after that group had been
//!    played already, wrong (an extra note within two semitones of one of
//!    its unstruck notes, played more than `chord_s` before the chord: the
//!    chord is no correction of it) — and all its notes matched there
//!    are free in the next one, moves the chord on (revised): its first
//!    notes fitted both groups, the rest decide.
//!
//! 5. **Settling.** A note's match is settled `SETTLE_LAG` notes after it
//!    was played, when the notes around it show when its group and its
//!    neighbours were played (the group's other notes when it has two or
//!    more, else where its played neighbours put it): a match moves to a
//!    free note of its pitch up to two groups away played clearly nearer
//!    its time, an extra note takes a free note of its pitch in a group
//!    played within `SETTLE_NEAR_S` of it (revised). A slip — the note's
//!    own, or a chord-mate's that made its group look early or late — no
//!    longer decides where it goes.
//!
//! Work per note is bounded: `window + 3` groups locally, and at most
//! `max_candidates × max_lost` group look-ups when lost (plus `RECENT` = 48
//! notes walked back on a jump).

use std::collections::{HashMap, VecDeque};

use super::error::AssessmentError;
use super::score::Score;

/// Tuning of [`Follower`]; the defaults are what the benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowConfig {
    /// Onset groups ahead of the current one searched for each note.
    pub window: usize,
    /// A note whose best candidate costs more is extra.
    pub max_cost: f64,
    /// Cost of each onset group skipped over.
    pub skip_cost: f64,
    /// Weight of the log ratio of expected to actual time when early.
    pub early_weight: f64,
    /// Weight of the log ratio when late, and its cap.
    pub late_weight: f64,
    pub late_cap: f64,
    /// Chord notes within this many seconds of the first cost nothing.
    pub chord_s: f64,
    /// A matched note costing more than this counts as lost.
    pub lost_cost: f64,
    /// Restart positions checked per lookup.
    pub max_candidates: usize,
    /// Lost notes kept for the restart check.
    pub max_lost: usize,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            window: 12,
            max_cost: 2.0,
            skip_cost: 1.0,
            early_weight: 1.5,
            late_weight: 0.5,
            late_cap: 1.0,
            chord_s: 0.05,
            lost_cost: 0.9,
            max_candidates: 64,
            max_lost: 8,
        }
    }
}

impl FollowConfig {
    fn validate(&self) -> Result<(), AssessmentError> {
        let positive = [
            ("max_cost", self.max_cost),
            ("skip_cost", self.skip_cost),
            ("early_weight", self.early_weight),
            ("late_weight", self.late_weight),
            ("late_cap", self.late_cap),
            ("chord_s", self.chord_s),
            ("lost_cost", self.lost_cost),
        ];
        for (name, value) in positive {
            if !value.is_finite() || value <= 0.0 {
                return Err(AssessmentError::BadParameter { name, value });
            }
        }
        for (name, value) in [
            ("window", self.window),
            ("max_candidates", self.max_candidates),
            ("max_lost", self.max_lost),
        ] {
            if value == 0 {
                return Err(AssessmentError::BadParameter { name, value: 0.0 });
            }
        }
        if self.max_lost < 3 {
            return Err(AssessmentError::BadParameter {
                name: "max_lost",
                value: self.max_lost as f64,
            });
        }
        Ok(())
    }
}

/// A score position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Onset group (index among the score's distinct onsets).
    pub group: usize,
    /// Quarters from the start of the (unfolded) score.
    pub score_q: f64,
    /// Seconds at the notated tempo.
    pub score_s: f64,
    /// Measure number as printed.
    pub bar: i32,
    /// Beat within the bar, from 1.
    pub beat: f64,
}

/// What the follower says about one performed note.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowStep {
    /// The performed note's index (0 for the first note given).
    pub index: usize,
    /// The score note it plays, or `None`: extra.
    pub score_note: Option<usize>,
    /// The score position: the matched note's, or for an extra note where
    /// it was played (the current group, or a later one whose onset was
    /// due by then; see `played_at`; before anything was recognised, the
    /// start of the score, one group per note).
    pub position: Option<Position>,
    /// Cost of the match (0 = exactly as expected).
    pub cost: f64,
    /// The follower jumped (restart, skip ahead) on this note.
    pub jumped: bool,
    /// Earlier notes re-matched by that jump, or by this note showing that
    /// the chord it belongs to is the next group's: (performed index, score
    /// note).
    pub revised: Vec<(usize, usize)>,
    /// Earlier extra notes of the pass a jump revised, where they were
    /// played in it (the position of the last note before each that the
    /// revised pass explains); or extra notes struck with this note's
    /// chord just before it, now placed in its group: (performed index,
    /// position).
    pub revised_extra: Vec<(usize, Position)>,
    /// Current local tempo, quarters per minute.
    pub qpm: f64,
}

/// Recent notes explained by a restart position: (position among the
/// recent notes, onset group, score note), newest first.
type Explained = Vec<(usize, usize, usize)>;

#[derive(Debug, Clone, Copy)]
struct Lost {
    index: usize,
    pitch: u8,
    t: f64,
    /// Extra, or matched only at a cost above `lost_cost`.
    bad: bool,
    /// Extra, but within two semitones of an unstruck note where it was
    /// played (`played_at` or the group after): a wrong pitch.
    near_miss: bool,
}

/// The causal score follower. Feed it notes in playing order with
/// [`Follower::push`].
#[derive(Debug, Clone)]
pub struct Follower {
    score: Score,
    cfg: FollowConfig,
    /// Trigram key → onset groups of the trigram's last note.
    index: HashMap<u32, Vec<u32>>,
    /// Pass in which each score note was last struck.
    note_pass: Vec<u32>,
    /// Pass in which each group was first struck, and when.
    group_pass: Vec<u32>,
    group_time: Vec<f64>,
    /// When the latest note of each group was struck (this pass).
    group_last: Vec<f64>,
    pass: u32,
    current: Option<usize>,
    spq: f64,
    /// A slow average of `spq` (a tenth per group advanced): the pace
    /// before a run of doubtful matches pulled the estimate off.
    spq_slow: f64,
    /// Recent (quarters, seconds) of group first onsets, for the tempo.
    history: Vec<(f64, f64)>,
    lost: Vec<Lost>,
    /// The last `RECENT` notes and what they were matched to, for revisions.
    recent: VecDeque<Recent>,
    /// Index of the first note of the current pass.
    pass_start: usize,
    /// The first notes of the passes before it, newest last (at most
    /// `BEFORE_JUMPS`).
    earlier_starts: VecDeque<usize>,
    /// The current group when each of the last `BEFORE_JUMPS` jumps was
    /// made, and the index of the note it was made on.
    before_jumps: VecDeque<(usize, usize)>,
    count: usize,
    last_t: f64,
    /// Where the previous note was played, if it was extra (`played_at`).
    extra_group: Option<usize>,
    /// The latest extra note that was a wrong pitch (within two semitones
    /// of an unstruck note of the group it was played at or the next):
    /// (that note's group, time).
    wrong_at: Option<(usize, f64)>,
    /// Extra notes that were wrong pitches of `wrong_at`'s group, in a row,
    /// since the position last moved.
    wrong_n: usize,
    /// The furthest group past the current one where an extra note was
    /// played since the position last moved.
    extra_reach: Option<usize>,
}

/// A recent performed note and its current match.
#[derive(Debug, Clone, Copy)]
struct Recent {
    index: usize,
    pitch: u8,
    t: f64,
    note: Option<usize>,
    /// Cost of its local match when it was played (NaN: extra, or a jump).
    cost: f64,
    /// Where it was played, if extra (the group reported).
    at: Option<usize>,
}

/// Notes of a rolled chord come at most this many seconds apart.
const ROLL_GAP_S: f64 = 1.0;
/// A roll keeps its pace: its next note comes within this many times its
/// slowest step so far (or `ROLL_MIN` seconds). Measured insensitive:
/// 2.0 to 3.5, and `ROLL_MIN` 0.15 to 0.4, move no figure of the
/// injected-mistakes benchmark by more than 0.002.
const ROLL_PACE: f64 = 2.5;
const ROLL_MIN: f64 = 0.25;
/// A rolled chord's late note costs at most this share of `lost_cost`.
const ROLL_COST: f64 = 0.9;
/// Grace notes (out of time) may come this many times further apart than
/// a roll's notes.
const GRACE_ROLL: f64 = 2.0;
/// A jump more than this many bars ahead, or back, is far.
const FAR_AHEAD_BARS: i32 = 1;
const FAR_BACK_BARS: i32 = 4;
/// Positions before jumps that a jump back to is not far (jumps made
/// within the last `RECENT` notes).
const BEFORE_JUMPS: usize = 4;
/// Cost of going past a group where extra notes were played.
const PLAYED_SKIP: f64 = 0.3;
/// Extra cost of a group before one where extra notes were played.
const PLAYED_PAST: f64 = 0.5;
/// A later group with this many wrong pitches of it played, in a row, was
/// played wrong (a chord): a note of it coming at least `WRONG_PAST` of the
/// way to the next group's time costs `PLAYED_PAST` more (op. 38's repeated
/// octaves: a note of the next octave was taken for the octave played
/// wrong, and the track ran a group behind). Pooled seeds 5 and 11, extra P
/// 0.961 / 0.958 / 0.910 → 0.967 / 0.958 / 0.914, missed P at 0.1 0.914 →
/// 0.917; one such note (`WRONG_CHORD` = 1): missed P at 0.02 0.953 →
/// 0.948 (an inserted note next to a pitch of a slow chord). `WRONG_PAST`
/// 0.3 to 0.7 moves no figure by more than 0.001; 1.0 loses half the gain.
const WRONG_CHORD: usize = 2;
const WRONG_PAST: f64 = 0.5;
/// Groups behind the current one that a lookup may pull the position back
/// to, against the current track's matches alone.
const PULL_BACK: usize = 2;
/// A note matched at most this cost was in time where it was (see
/// `extend_back`): half of `lost_cost`. (Any whole onset group instead of
/// a single note: missed precision +0.001 more at rate 0.05, restarted
/// precision and recall −0.004 at rates 0.02 and 0.05, seed 5.)
const TAIL_COST: f64 = 0.45;
/// Notes played after a note before it is settled (see `Follower::settle`).
const SETTLE_LAG: usize = 7;
/// A settled match moves to a group played at least this much nearer it.
const SETTLE_MARGIN_S: f64 = 0.05;
/// A settled extra note is matched in a group played this near it: a
/// slip of the hand up to 0.2 s, not a note of another beat. Pooled seeds 5
/// and 11 against 0.1: wrong-pitch P 0.978 / 0.971 / 0.959 → 0.988 / 0.981
/// / 0.971, extra P 0.967 / 0.967 / 0.923 → 0.972 / 0.969 / 0.928, missed
/// P +0.001–0.002, no recall down (seeds 1 and 2 alike). Larger is better
/// still on the benchmark (0.3: wrong-pitch P +0.004 more, extra P
/// +0.002–0.006 more; from 0.5 restarted recall drops), but its insertions
/// are never a pitch of the score nearby, and a player's stray re-strike
/// of a key is: 0.2 s stays a slip.
const SETTLE_NEAR_S: f64 = 0.2;
/// Groups each side searched for played neighbours of a group.
const SETTLE_REACH: usize = 3;
/// A walk back takes a note into the group of the one walked before it
/// when struck at most this long before it: a chord's notes. Checking the
/// lost notes at a restart position, 0.15 s (0.2: restarted P at 0.02
/// 0.994 → 0.991; 0.25: missed P at 0.05 0.955 → 0.935, one K 331 take
/// restarting into the other copy of its theme).
const LOST_SPREAD_S: f64 = 0.15;
/// Walking on back through the pass before them (`extend_back`), 0.25 s: a
/// spread chord or a slip within one (D 783's chords) no longer ends the
/// walk, and a pass followed in the wrong copy is revised whole. Pooled
/// seeds 5 and 11 against 0.15: extra P 0.958 / 0.914 → 0.967 / 0.923 at
/// 0.05 / 0.1, missed P at 0.1 0.917 → 0.922, restarted P 0.991 / 0.982 /
/// 0.975 → 0.994 / 0.987 / 0.980; 0.2 to 0.3 within 0.004 of it.
const PASS_SPREAD_S: f64 = 0.25;
/// Recent notes kept for revising a pass after a jump.
const RECENT: usize = 48;
/// Inter-onset time over the score's distance at the current tempo within
/// which notes before a jump count as played without a stop (log-symmetric).
const CONTINUOUS: f64 = 2.0;

fn key(a: u8, b: u8, c: u8) -> u32 {
    (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c)
}

/// Notes of a group used for the index (large chords are capped).
const INDEX_GROUP_NOTES: usize = 8;

fn build_index(score: &Score) -> HashMap<u32, Vec<u32>> {
    let groups = score.groups();
    let mut index: HashMap<u32, Vec<u32>> = HashMap::new();
    let pitches = |g: usize| -> &[u8] {
        let p = &groups[g].pitches;
        &p[..p.len().min(INDEX_GROUP_NOTES)]
    };
    // Ordered triples (a, b, c) of distinct notes whose groups step by 0 or 1.
    for gc in 0..groups.len() {
        let lo_b = gc.saturating_sub(1);
        for gb in lo_b..=gc {
            let lo_a = gb.saturating_sub(1);
            for ga in lo_a..=gb {
                for (ia, &a) in pitches(ga).iter().enumerate() {
                    for (ib, &b) in pitches(gb).iter().enumerate() {
                        if ga == gb && ia == ib {
                            continue;
                        }
                        for (ic, &c) in pitches(gc).iter().enumerate() {
                            if (gb == gc && ib == ic) || (ga == gc && ia == ic) {
                                continue;
                            }
                            index.entry(key(a, b, c)).or_default().push(gc as u32);
                        }
                    }
                }
            }
        }
    }
    for v in index.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    index
}

impl Follower {
    /// A follower at the start of `score`.
    ///
    /// # Errors
    /// [`AssessmentError::BadParameter`] for an invalid configuration.
    pub fn new(score: Score, cfg: FollowConfig) -> Result<Self, AssessmentError> {
        cfg.validate()?;
        let index = build_index(&score);
        let n = score.len();
        let g = score.onset_count();
        let spq = score.notated_spq(0);
        Ok(Self {
            score,
            cfg,
            index,
            note_pass: vec![0; n],
            group_pass: vec![0; g],
            group_time: vec![0.0; g],
            group_last: vec![0.0; g],
            pass: 1,
            current: None,
            spq,
            spq_slow: spq,
            history: Vec::new(),
            lost: Vec::new(),
            recent: VecDeque::with_capacity(RECENT + 1),
            pass_start: 0,
            earlier_starts: VecDeque::with_capacity(BEFORE_JUMPS + 1),
            before_jumps: VecDeque::with_capacity(BEFORE_JUMPS + 1),
            count: 0,
            last_t: f64::NEG_INFINITY,
            extra_group: None,
            wrong_at: None,
            wrong_n: 0,
            extra_reach: None,
        })
    }

    #[must_use]
    pub fn score(&self) -> &Score {
        &self.score
    }

    /// Forgets everything: the next note starts a new attempt.
    pub fn reset(&mut self) {
        self.note_pass.iter_mut().for_each(|p| *p = 0);
        self.group_pass.iter_mut().for_each(|p| *p = 0);
        self.pass = 1;
        self.current = None;
        self.spq = self.score.notated_spq(0);
        self.spq_slow = self.spq;
        self.history.clear();
        self.lost.clear();
        self.recent.clear();
        self.pass_start = 0;
        self.earlier_starts.clear();
        self.before_jumps.clear();
        self.count = 0;
        self.last_t = f64::NEG_INFINITY;
        self.extra_group = None;
        self.wrong_at = None;
        self.wrong_n = 0;
        self.extra_reach = None;
    }

    /// Notes given so far.
    #[must_use]
    pub fn notes_seen(&self) -> usize {
        self.count
    }

    /// The current position (the furthest group matched in this pass).
    #[must_use]
    pub fn position(&self) -> Option<Position> {
        self.current.map(|g| self.position_of(g))
    }

    /// Current local tempo in quarters per minute.
    #[must_use]
    pub fn qpm(&self) -> f64 {
        60.0 / self.spq
    }

    fn position_of(&self, g: usize) -> Position {
        let group = &self.score.groups()[g];
        let first = &self.score.notes()[group.notes[0]];
        Position {
            group: g,
            score_q: group.q,
            score_s: group.s,
            bar: first.bar,
            beat: first.beat,
        }
    }

    fn bar_of(&self, g: usize) -> i32 {
        self.score.notes()[self.score.groups()[g].notes[0]].bar
    }

    /// The unstruck note of `pitch` in group `g` (grace notes first).
    fn free_note(&self, g: usize, pitch: u8) -> Option<usize> {
        let group = &self.score.groups()[g];
        if !group.has_pitch(pitch) {
            return None;
        }
        let notes = self.score.notes();
        let mut best: Option<usize> = None;
        for &i in &group.notes {
            if notes[i].pitch != pitch || self.note_pass[i] == self.pass {
                continue;
            }
            match best {
                Some(b) if !notes[i].grace || notes[b].grace => {}
                _ => best = Some(i),
            }
        }
        best.map(|i| {
            if notes[i].grace {
                i
            } else {
                self.score.primary(i)
            }
        })
    }

    fn strike(&mut self, g: usize, note: usize, t: f64) {
        let pitch = self.score.notes()[note].pitch;
        let grace = self.score.notes()[note].grace;
        // The beat is the main note's, not its grace notes'.
        if !grace && self.group_pass[g] == self.pass && self.graces_only(g) {
            self.group_time[g] = t;
            if let Some(h) = self.history.last_mut() {
                if (h.0 - self.score.groups()[g].q).abs() < 1e-9 {
                    h.1 = t;
                }
            }
        }
        self.set_key(g, pitch, grace, self.pass);
        if self.group_pass[g] != self.pass {
            self.group_pass[g] = self.pass;
            self.group_time[g] = t;
        }
        self.group_last[g] = t;
    }

    /// Marks the key `pitch` of group `g` (its grace or its main notes) as
    /// last struck in `pass` (0: free): one key press plays every unison
    /// doubling of the note.
    fn set_key(&mut self, g: usize, pitch: u8, grace: bool, pass: u32) {
        for &i in &self.score.groups()[g].notes {
            let n = &self.score.notes()[i];
            if n.pitch == pitch && n.grace == grace {
                self.note_pass[i] = pass;
            }
        }
    }

    /// The note of `pitch` in group `g` struck already in this pass.
    fn struck_note(&self, g: usize, pitch: u8) -> Option<usize> {
        let group = &self.score.groups()[g];
        if !group.has_pitch(pitch) {
            return None;
        }
        group
            .notes
            .iter()
            .copied()
            .find(|&i| self.score.notes()[i].pitch == pitch && self.note_pass[i] == self.pass)
            .map(|i| self.score.primary(i))
    }

    fn clamp_spq(&self, g: usize, spq: f64) -> f64 {
        let notated = self.score.notated_spq(g);
        spq.clamp(notated / 4.0, notated * 4.0)
    }

    /// The group becomes the current one: tempo history and estimate.
    fn advance(&mut self, g: usize, t: f64) {
        let q = self.score.groups()[g].q;
        if let Some(&(lq, lt)) = self.history.last() {
            let e = (q - lq) * self.spq;
            let d = t - lt;
            if q <= lq || d > (3.0 * e).max(1.5) {
                // Going back, or a pause: the tempo before it says nothing
                // about the timing across it.
                self.history.clear();
            }
        }
        self.history.push((q, t));
        if self.history.len() > 12 {
            self.history.remove(0);
        }
        // The oldest point at least two quarters back (or the oldest).
        let mut sample = None;
        for &(hq, ht) in self.history.iter().rev().skip(1) {
            if q - hq > 1e-9 {
                sample = Some((q - hq, t - ht));
                if q - hq >= 2.0 {
                    break;
                }
            }
        }
        if let Some((dq, dt)) = sample {
            if dq >= 0.5 && dt > 0.0 {
                let w = (dq / 2.0).min(1.0) * 0.6;
                let spq = (1.0 - w) * self.spq + w * dt / dq;
                self.spq = self.clamp_spq(g, spq);
            }
        }
        self.spq_slow = 0.9 * self.spq_slow + 0.1 * self.spq;
        self.current = Some(g);
        self.extra_reach = None;
        self.wrong_n = 0;
    }

    fn time_cost(&self, d: f64, e: f64) -> f64 {
        let (d, e) = (d.max(0.0) + 0.03, e.max(0.0) + 0.03);
        if d < e {
            self.cfg.early_weight * (e / d).ln()
        } else {
            (self.cfg.late_weight * (d / e).ln()).min(self.cfg.late_cap)
        }
    }

    /// Cost of a note of the current group struck `gap` seconds after the
    /// group's latest one. A slow roll or a written-out arpeggio (grace
    /// notes) keeps coming a note at a time: while the notes come at most
    /// `ROLL_GAP_S` or a quarter at the current tempo apart (twice that
    /// between grace notes, which are out of time), the cost stays below
    /// `lost_cost` (a later group holding the pitch, on time, is still
    /// cheaper). The main note after grace notes alone is on the beat: free.
    fn chord_cost(&self, c: usize, note: usize, gap: f64) -> f64 {
        let cost = (gap - self.cfg.chord_s).max(0.0) / 0.25;
        let mut limit = ROLL_GAP_S.max(self.spq);
        if self.graces_only(c) {
            limit *= GRACE_ROLL;
            if !self.score.notes()[note].grace && gap <= limit {
                return 0.0;
            }
        }
        if self.roll_goes_on(&self.chord_times(c), gap, limit) {
            cost.min(ROLL_COST * self.cfg.lost_cost)
        } else {
            cost
        }
    }

    /// A chord struck at `times` (see [`Self::chord_times`]) still being
    /// rolled `gap` seconds after its latest note: within `limit`, and —
    /// once two of its notes have been struck — at most `ROLL_PACE` times
    /// its slowest step so far.
    fn roll_goes_on(&self, times: &[f64], gap: f64, limit: f64) -> bool {
        if gap > limit {
            return false;
        }
        // The slowest step between consecutive notes of the chord.
        if times.len() < 2 {
            return true;
        }
        let pace = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        gap <= (ROLL_PACE * pace).max(ROLL_MIN)
    }

    /// When the notes of group `c`'s chord were struck in this pass, in
    /// playing order: its matched notes, and the extra notes struck with
    /// them (within `chord_s` of one, chained) — a chord note played wrong
    /// is struck with the chord all the same.
    fn chord_times(&self, c: usize) -> Vec<f64> {
        let group = &self.score.groups()[c];
        let mut times: Vec<f64> = Vec::new();
        // Extra notes just before the chord's first note (chained).
        let mut extras: Vec<f64> = Vec::new();
        for r in self.recent.iter().filter(|r| r.index >= self.pass_start) {
            match r.note {
                Some(n) if group.notes.contains(&n) => {
                    if times.is_empty() {
                        let mut lead: Vec<f64> = Vec::new();
                        let mut next = r.t;
                        for &e in extras.iter().rev() {
                            if next - e > self.cfg.chord_s {
                                break;
                            }
                            lead.push(e);
                            next = e;
                        }
                        times.extend(lead.iter().rev());
                    }
                    times.push(r.t);
                }
                None if times.last().is_some_and(|&l| r.t - l <= self.cfg.chord_s) => {
                    times.push(r.t);
                }
                None if times.is_empty() => extras.push(r.t),
                _ => {}
            }
        }
        times
    }

    /// Only grace notes of group `g` have been struck in this pass.
    fn graces_only(&self, g: usize) -> bool {
        let notes = self.score.notes();
        self.score.groups()[g]
            .notes
            .iter()
            .all(|&i| notes[i].grace || self.note_pass[i] != self.pass)
    }

    /// Where in the score an extra note struck at `t` was played, the
    /// current group being `c`, the previous note struck at `prev_t` and
    /// played at `prev` (`c`, or where it was played if it was extra too).
    /// With the previous note (a chord), where that note was. Otherwise the
    /// next group once its onset is due at the local tempo — counted on from
    /// the previous note's group while the notes are extra (a wrong note on
    /// the next beat, then another on the beat after), one group per note —
    /// unless the current chord is still being rolled (notes of it left,
    /// the notes coming as in `chord_cost`).
    fn played_at(&self, c: usize, prev: usize, t: f64, prev_t: f64) -> usize {
        let groups = self.score.groups();
        let next = prev + 1;
        if t - prev_t <= self.cfg.chord_s || next >= groups.len() {
            return prev;
        }
        // Nearer the next group's onset than the previous note's group's.
        let e = |h: usize| (groups[h].q - groups[c].q) * self.spq;
        if t - self.group_time[c] < 0.3 * e(prev) + 0.7 * e(next) {
            return prev;
        }
        // A chord struck as a block (more than one note, all within
        // `chord_s`) is not being rolled: its missing notes were left out or
        // played wrong, and in slow music (a quarter of seconds) the next
        // group is due long before a roll's time limit.
        let times = self.chord_times(c);
        let block = times.len() > 1 && times[times.len() - 1] - times[0] <= self.cfg.chord_s;
        let rolling = prev == c
            && !block
            && self.roll_goes_on(&times, t - self.group_last[c], ROLL_GAP_S.max(self.spq))
            && groups[c]
                .notes
                .iter()
                .any(|&i| self.note_pass[i] != self.pass);
        if rolling {
            prev
        } else {
            next
        }
    }

    /// Group `g` or the next, whichever first has an unstruck note within
    /// two semitones of `pitch` (a wrong pitch played there).
    fn near_miss(&self, g: usize, pitch: u8) -> Option<usize> {
        let groups = self.score.groups();
        let notes = self.score.notes();
        (g..groups.len().min(g + 2)).find(|&h| {
            groups[h].notes.iter().any(|&i| {
                !notes[i].grace
                    && self.note_pass[i] != self.pass
                    && notes[i].pitch.abs_diff(pitch) <= 2
            })
        })
    }

    /// Group `g` (after the current one) was played wrong: `WRONG_CHORD`
    /// extra notes, each a wrong pitch of it, since the position last moved
    /// — and a note struck at `t` comes at least `WRONG_PAST` of the way
    /// from them to the next group's time: it is no note of the chord
    /// (its notes were the wrong ones), but the next group's.
    fn played_wrong(&self, g: usize, t: f64) -> bool {
        let groups = self.score.groups();
        let (Some(c), Some((h, tw))) = (self.current, self.wrong_at) else {
            return false;
        };
        h == g
            && g + 1 < groups.len()
            && self.wrong_n >= WRONG_CHORD
            && tw >= self.group_time[c]
            && t - tw >= WRONG_PAST * (groups[g + 1].q - groups[g].q) * self.spq
    }

    /// Best local candidate: (cost, group, note).
    fn local(&self, pitch: u8, t: f64) -> Option<(f64, usize, usize)> {
        let groups = self.score.groups();
        let g_n = groups.len();
        let mut best: Option<(f64, usize, usize)> = None;
        let mut consider = |cost: f64, g: usize, note: usize| {
            if best.map_or(true, |(c, _, _)| cost < c) {
                best = Some((cost, g, note));
            }
        };
        let Some(c) = self.current else {
            for g in 0..g_n.min(self.cfg.window + 1) {
                if let Some(note) = self.free_note(g, pitch) {
                    consider(g as f64 * self.cfg.skip_cost, g, note);
                }
            }
            return best;
        };
        let tc = self.group_time[c];
        let d = t - tc;
        for g in c.saturating_sub(2)..c {
            if self.group_pass[g] != self.pass {
                // The group just gone past, none of it struck: its note came
                // late, after the next group's (a timing slip), soon after.
                if g + 1 == c {
                    if let Some(note) = self.free_note(g, pitch) {
                        consider(0.5 + (t - self.group_time[c]) / 0.1, g, note);
                    }
                }
                continue;
            }
            if let Some(note) = self.free_note(g, pitch) {
                let late = (t - self.group_time[g] - self.cfg.chord_s).max(0.0);
                consider(0.5 + late / 0.1, g, note);
            }
        }
        // Chord notes: measured from the group's latest note (a rolled chord
        // goes on as long as its notes keep coming).
        let gap = t - self.group_last[c];
        if let Some(note) = self.free_note(c, pitch) {
            consider(self.chord_cost(c, note, gap), c, note);
        } else if let Some(note) = self.struck_note(c, pitch) {
            // The pitch was struck early (an ornament or grace note before
            // the beat) and now comes with the chord: the chord's note.
            if gap <= self.cfg.chord_s && t - self.group_time[c] > 0.08 {
                consider(0.5, c, note);
            }
        }
        let mut skipped = 0.0;
        for g in c + 1..g_n.min(c + 1 + self.cfg.window) {
            if skipped >= self.cfg.max_cost {
                break;
            }
            if let Some(note) = self.free_note(g, pitch) {
                let e = (groups[g].q - groups[c].q) * self.spq;
                // Extra notes were played on a later group's beat: the
                // player has gone past this one, and a note of it now is
                // late, not a pause before it.
                // So has one whose chord was played wrong, when this note
                // comes on towards the group after it.
                let past = if self.extra_reach.is_some_and(|r| g < r) || self.played_wrong(g, t) {
                    PLAYED_PAST
                } else {
                    0.0
                };
                consider(skipped + past + self.time_cost(d, e), g, note);
            }
            // A group where extra notes were played on time was played
            // (wrong notes): going past it is no omission.
            skipped += if self.extra_reach.is_some_and(|r| g <= r) {
                PLAYED_SKIP
            } else {
                self.cfg.skip_cost
            };
        }
        best
    }

    /// Checks restart position `g` for the lost notes: the notes it
    /// explains, as (lost position, group, note), newest first.
    ///
    /// `anchored`: the newest note must be in `g` (a candidate position);
    /// otherwise it may go unexplained (the score around the current one).
    fn explain(&self, g: usize, anchored: bool) -> Explained {
        let mut out: Vec<(usize, usize, usize)> = Vec::new();
        let m = self.lost.len();
        let mut cur = g;
        let mut cur_t = self.lost[m - 1].t;
        for k in (0..m).rev() {
            let l = self.lost[k];
            // The time between the notes must fit the score's distance at a
            // tempo within 4× of the current one.
            let used = |i: usize| out.iter().any(|&(_, _, n)| n == i);
            let first = k + 1 == m;
            let found = self.step_back(
                cur,
                cur_t,
                cur_t,
                l.pitch,
                l.t,
                first,
                4.0,
                used,
                LOST_SPREAD_S,
            );
            if let Some((h, note)) = found {
                out.push((k, h, note));
                cur = h;
                cur_t = l.t;
            } else if k + 1 == m && anchored {
                return out;
            }
        }
        out
    }

    /// One step of a walk back through the score from group `cur` (its
    /// note walked last struck at `cur_t`, its latest at `group_t`) to a
    /// note of `pitch` struck at `t`: the latest group at most three before
    /// `cur` holding such a note not `used`, whose distance from `cur` fits
    /// the time from the note to `group_t` at a tempo within `band`× of the
    /// current one — or `cur` itself (a chord note: within `spread` seconds
    /// of `cur_t` unless `first`). Returns (group, note).
    #[allow(clippy::too_many_arguments)]
    fn step_back(
        &self,
        cur: usize,
        cur_t: f64,
        group_t: f64,
        pitch: u8,
        t: f64,
        first: bool,
        band: f64,
        used: impl Fn(usize) -> bool,
        spread: f64,
    ) -> Option<(usize, usize)> {
        let groups = self.score.groups();
        let notes = self.score.notes();
        for h in (cur.saturating_sub(3)..=cur).rev() {
            if h == cur && !first && cur_t - t > spread {
                continue;
            }
            if !groups[h].has_pitch(pitch) {
                continue;
            }
            if h < cur {
                let expected = (groups[cur].q - groups[h].q) * self.spq;
                let ratio = (group_t - t + 0.05) / (expected + 0.05);
                if !(1.0 / band..=band).contains(&ratio) {
                    continue;
                }
            }
            let note = groups[h]
                .notes
                .iter()
                .copied()
                .find(|&i| notes[i].pitch == pitch && !used(i));
            if let Some(note) = note {
                return Some((h, note));
            }
        }
        None
    }

    /// Notes of this pass played before the lost ones (indices below
    /// `before`) that the jump's position explains too, walking on back from
    /// its oldest explained note (group `g0`, struck at `t0`) while they
    /// follow one another without a stop: (performed index, group, note),
    /// newest first. They belong to the same pass as the new position — e.g.
    /// a passage the score repeats note for note, followed in the wrong copy
    /// until the copies part, or the first notes of a restart taken for
    /// notes of the bars around the stop.
    fn extend_back(&self, g0: usize, t0: f64, before: usize, used: &[usize]) -> Explained {
        let mut used = used.to_vec();
        let mut out: Explained = Vec::new();
        // A chord's time is its latest note's: the first note of a rolled or
        // spread chord is early for the distance from the group before.
        let (mut cur, mut cur_t, mut group_t) = (g0, t0, t0);
        let mut limit = self.pass_start;
        // Notes taken before the walk last crossed into an earlier pass.
        let mut seg = 0;
        let mut starts = self.earlier_starts.iter().rev();
        // Performed time and former match cost of the notes taken, oldest
        // last.
        let mut taken: Vec<(f64, f64)> = Vec::new();
        let mut slipped = false;
        for r in self.recent.iter().rev() {
            if r.index >= before {
                continue;
            }
            if r.index < limit {
                // The walk explained the whole pass back to its first note:
                // the jump that began it was a wrong turn (e.g. into a
                // near-copy of the passage), and the pass goes on before it.
                match starts.next() {
                    Some(&l) if l < limit => limit = l,
                    _ => break,
                }
                seg = out.len();
                if r.index < limit {
                    break;
                }
            }
            let mut step = self.step_back(
                cur,
                cur_t,
                group_t,
                r.pitch,
                r.t,
                false,
                CONTINUOUS,
                |i| used.contains(&i),
                PASS_SPREAD_S,
            );
            // A note struck just before the one walked last, off the pace:
            // a slip of timing onto the next group (a late note), not a
            // stop — taken at a tempo within 4×, as the lost notes are.
            // Once: two such notes are a stop's worth of evidence.
            if step.is_none() && !slipped && cur_t - r.t <= self.cfg.chord_s {
                slipped = true;
                step = self.step_back(
                    cur,
                    cur_t,
                    group_t,
                    r.pitch,
                    r.t,
                    false,
                    4.0,
                    |i| used.contains(&i),
                    PASS_SPREAD_S,
                );
            }
            match step {
                Some((h, note)) => {
                    out.push((r.index, h, note));
                    taken.push((r.t, r.cost));
                    used.push(note);
                    if h < cur {
                        group_t = r.t;
                    }
                    cur = h;
                    cur_t = r.t;
                }
                // An extra note (a slip) does not break the pass.
                None if r.note.is_none() => {}
                None => {
                    // A chord is one group: the walk does not end inside
                    // one (its notes struck with the one that stops the
                    // walk stay where they were).
                    let mut edge = r.t;
                    while let Some(&(t, _)) = taken.last() {
                        if t - edge > self.cfg.chord_s {
                            break;
                        }
                        edge = t;
                        taken.pop();
                        out.pop();
                    }
                    break;
                }
            }
        }
        // A single note alone, played in time on the current track just
        // before the lost notes and not struck with the first of them, is
        // where the player stopped, not the first note of the new pass
        // (both read it; the current track has it in its flow). A whole
        // chord, or a note the new pass's first chord goes on from, is
        // still taken: a restart's first chord often fits the next group.
        // So is the oldest note taken, alone and in time, when a note the
        // walk took after it was not in time on the current track (the
        // restart's first notes, matched there at a cost).
        let seg = seg.min(out.len());
        let n = out.len();
        if n > seg {
            let (t, cost) = taken[n - 1];
            let next_t = if n >= 2 { taken[n - 2].0 } else { t0 };
            let apart = next_t - t > self.cfg.chord_s;
            let after_in_time = taken[seg..n - 1].iter().all(|&(_, c)| c <= TAIL_COST);
            if cost <= TAIL_COST && apart && (n == seg + 1 || !after_in_time) {
                out.truncate(n - 1);
            }
        }
        out
    }

    /// Looks for a restart / skip position explaining the lost notes.
    fn search(&self) -> Option<(usize, Explained)> {
        let m = self.lost.len();
        if m < 3 {
            return None;
        }
        let k = key(
            self.lost[m - 3].pitch,
            self.lost[m - 2].pitch,
            self.lost[m - 1].pitch,
        );
        let cands = self.index.get(&k)?;
        let groups = self.score.groups();
        let here = self.current.unwrap_or(0) as f64;
        // Notes the current track explains well: a jump must beat them.
        let good = self.lost.iter().filter(|l| !l.bad).count();
        // Against a jump elsewhere, a wrong pitch (an extra note next to an
        // unstruck one where it was played) counts for the current track:
        // one wrong note that another copy of the passage holds must not
        // tip the balance. One at most: several extra notes near unstruck
        // ones are as likely a sign of being lost (chords offer many
        // neighbours), and a pull-back keeps its own rule.
        let near_miss = self.lost.iter().any(|l| l.bad && l.near_miss);
        let good_wrong = good + usize::from(near_miss);
        // What the score around the current position explains of them.
        let g_n = self.score.onset_count();
        let near = self.current.map_or(0, |c| {
            (c.saturating_sub(1)..g_n.min(c + 3))
                .map(|g| self.explain(g, false).len())
                .max()
                .unwrap_or(0)
        });
        let mut best: Option<(f64, usize, Explained)> = None;
        // The most notes any other position explains, admitted or not.
        let mut most_other = 0;
        // Candidates nearest the current position first.
        let start = cands.partition_point(|&g| (g as f64) < here);
        let (mut lo, mut hi) = (start, start);
        for _ in 0..self.cfg.max_candidates.min(cands.len()) {
            let take_hi = if hi >= cands.len() {
                false
            } else if lo == 0 {
                true
            } else {
                f64::from(cands[hi]) - here <= here - f64::from(cands[lo - 1])
            };
            let g = if take_hi {
                hi += 1;
                cands[hi - 1] as usize
            } else {
                lo -= 1;
                cands[lo] as usize
            };
            let ex = self.explain(g, true);
            let n = ex.len();
            // A jump far from the current position (a restart from further
            // back than a few bars, a skip ahead) is rarer than a slip near
            // it: it must explain one note more.
            // The positions before the last jumps are as plausible as the
            // current one (a jump may have gone into the wrong copy of a
            // repeated passage, and the next from there) — while the jump
            // is recent: the copies part within a few bars.
            let far_from = |c: usize| {
                let bars = self.bar_of(g) - self.bar_of(c);
                !(-FAR_BACK_BARS..=FAR_AHEAD_BARS).contains(&bars)
            };
            let far = self.current.is_some_and(far_from)
                && self
                    .before_jumps
                    .iter()
                    .filter(|&&(_, i)| self.count - i <= RECENT)
                    .all(|&(p, _)| far_from(p));
            let margin = if far { 3 } else { 2 };
            // A group just behind the current one (the track ran a group
            // ahead, e.g. after a performer's extra note took a note of the
            // next group): the score around here is what it re-reads, so
            // only the current track's own matches count against it.
            let behind = self.current.is_some_and(|c| g < c && g + PULL_BACK >= c);
            // The group just after the current one, likewise, when it
            // reads most of the track's own matches elsewhere: a track a
            // group behind on chords the score repeats (the notes fit both;
            // their doubtful timing tells). One that keeps them only
            // re-reads the doubtful notes (a slip re-struck is no restart).
            let just_ahead = self.current.is_some_and(|c| g == c + 1) && self.moves_track(&ex);
            let rival = if behind || just_ahead {
                good
            } else {
                good_wrong.max(near)
            };
            if !behind {
                most_other = most_other.max(n);
            }
            // A restart's story: the current track up to some note, the
            // candidate from it on. The notes the track explained well
            // before the player went back (or on) are not held against
            // the candidate, and what it read into them is dropped.
            let (story, from) = (0..m)
                .map(|j| {
                    let track = self.lost[..j].iter().filter(|l| !l.bad).count();
                    (track + ex.iter().filter(|&&(k, _, _)| k >= j).count(), j)
                })
                .fold((0, 0), |best, s| if s.0 > best.0 { s } else { best });
            let mut ex = ex;
            ex.retain(|&(k, _, _)| k >= from);
            let n = ex.len();
            if n < 3 || (story as f64) < 0.75 * m as f64 || story < rival + margin {
                continue;
            }
            // One chord's pitches are weak evidence: two onsets at least
            // (a whole chord that the group behind holds is enough there).
            if !behind && ex.iter().all(|&(_, h, _)| h == g) {
                continue;
            }
            // Plausible tempo between the first and last explained notes.
            let (k0, g0, _) = ex[n - 1];
            let dq = groups[g].q - groups[g0].q;
            let dt = self.lost[m - 1].t - self.lost[k0].t;
            let mut penalty = 0.0;
            if dq > 0.0 {
                // Against the current tempo estimate or the slow one,
                // whichever fits: a track followed wrong for a few groups
                // (a pull-back into a chord the score repeats) skews the
                // estimate, and must not make the true place look off-pace.
                let off = |spq: f64| {
                    let ratio = dt / (dq * spq);
                    (0.3..=3.0).contains(&ratio).then(|| ratio.ln().abs())
                };
                match [off(self.spq), off(self.spq_slow)]
                    .into_iter()
                    .flatten()
                    .reduce(f64::min)
                {
                    Some(o) => penalty = 2.0 * o,
                    None => continue,
                }
            } else if dt > 0.3 {
                continue;
            }
            let bar_start = self.bar_start(g0);
            // Ranked as it was admitted: a far jump counts one note less.
            let far_cost = if far { 1.0 } else { 0.0 };
            let score = story as f64 - far_cost + if bar_start { 0.5 } else { 0.0 } - penalty;
            if best.as_ref().map_or(true, |(s, _, _)| score > *s) {
                best = Some((score, g, ex));
            }
        }
        // A pull-back is weighed against the current track alone; a restart
        // elsewhere that explains more of the notes (a chord the score
        // repeats, replayed from a group before it) is not yet sure enough
        // to jump to, but it is the likelier story: wait for more notes.
        if let Some((_, g, ex)) = &best {
            if self.current.is_some_and(|c| *g < c && *g + PULL_BACK >= c) && most_other > ex.len()
            {
                return None;
            }
            // The chord a pull-back re-reads is the next group's too, and
            // the next group explains them as well: the track was right (a
            // late note before the chord made it look early), and goes on.
            if let Some(c) = self.current.filter(|&c| *g < c && c + 1 < g_n) {
                let fwd = self.explain(c + 1, true);
                if fwd.len() >= ex.len() && fwd.iter().all(|&(_, h, _)| h == c + 1) {
                    return Some((c + 1, fwd));
                }
            }
        }
        best.map(|(_, g, ex)| (g, ex))
    }

    /// Performed note `index` among the recent ones, if still kept.
    fn recent_note(&self, index: usize) -> Option<&Recent> {
        self.recent.iter().rev().find(|r| r.index == index)
    }

    /// Whether `ex` (lost position, group, note) places more than half of
    /// the lost notes the current track matched well elsewhere than the
    /// track did.
    fn moves_track(&self, ex: &[(usize, usize, usize)]) -> bool {
        let (mut kept, mut moved) = (0, 0);
        for &(k, _, note) in ex {
            let l = &self.lost[k];
            if l.bad {
                continue;
            }
            if self.recent_note(l.index).and_then(|r| r.note) == Some(note) {
                kept += 1;
            } else {
                moved += 1;
            }
        }
        moved > kept
    }

    /// Follows one performed note (pitch, onset in seconds, velocity).
    ///
    /// # Errors
    /// [`AssessmentError::BadPerfNote`] for a non-finite onset or a pitch or
    /// velocity above 127. Onsets earlier than the previous one are taken as
    /// simultaneous with it.
    pub fn push(
        &mut self,
        pitch: u8,
        onset_s: f64,
        velocity: u8,
    ) -> Result<FollowStep, AssessmentError> {
        let mut step = self.follow_note(pitch, onset_s, velocity)?;
        if let Some((i, note)) = self.settle() {
            step.revised.retain(|&(j, _)| j != i);
            step.revised.push((i, note));
        }
        Ok(step)
    }

    fn follow_note(
        &mut self,
        pitch: u8,
        onset_s: f64,
        velocity: u8,
    ) -> Result<FollowStep, AssessmentError> {
        let index = self.count;
        let bad = |field, value| AssessmentError::BadPerfNote {
            index,
            field,
            value,
        };
        if !onset_s.is_finite() {
            return Err(bad("onset_s", onset_s));
        }
        if pitch > 127 {
            return Err(bad("pitch", f64::from(pitch)));
        }
        if velocity > 127 {
            return Err(bad("velocity", f64::from(velocity)));
        }
        self.count += 1;
        let t = onset_s.max(self.last_t);
        let prev_t = self.last_t;
        self.last_t = t;
        // Where the previous note was played, if it was extra.
        let prev_extra = self.extra_group.take();

        let mut local = self
            .local(pitch, t)
            .filter(|&(c, _, _)| c <= self.cfg.max_cost);
        let mut moved = Vec::new();
        if local.map_or(true, |(c, _, _)| c > self.cfg.lost_cost) {
            moved = self.move_chord_on(pitch, t);
            if !moved.is_empty() {
                local = self
                    .local(pitch, t)
                    .filter(|&(c, _, _)| c <= self.cfg.max_cost);
            }
        }
        let bad = local.map_or(true, |(c, _, _)| c > self.cfg.lost_cost);
        // The recent notes from the first doubtful one on (at most
        // `max_lost`): what a restart position must explain better.
        if bad || !self.lost.is_empty() {
            self.lost.push(Lost {
                index,
                pitch,
                t,
                bad,
                near_miss: false,
            });
            if self.lost.len() > self.cfg.max_lost {
                self.lost.remove(0);
            }
            while self.lost.first().is_some_and(|l| !l.bad) {
                self.lost.remove(0);
            }
        }
        let doubtful = self.lost.iter().filter(|l| l.bad).count();
        if bad && doubtful >= 2 {
            if let Some((g, ex)) = self.search() {
                let step = self.jump(g, &ex);
                self.remember(index, pitch, t, step.score_note, step.cost);
                // Where the pass now places its extra notes.
                for &(i, p) in &step.revised_extra {
                    if let Some(r) = self.recent.iter_mut().find(|r| r.index == i) {
                        r.at = Some(p.group);
                    }
                }
                return Ok(step);
            }
        }
        let mut step = FollowStep {
            index,
            score_note: None,
            position: None,
            cost: f64::NAN,
            jumped: false,
            revised: moved,
            revised_extra: Vec::new(),
            qpm: self.qpm(),
        };
        if let Some((cost, g, note)) = local {
            self.strike(g, note, t);
            if self.current.map_or(true, |c| g > c) {
                self.advance(g, t);
            }
            step.score_note = Some(note);
            step.position = Some(self.position_of(g));
            step.cost = cost;
            step.qpm = self.qpm();
            // A wrong note struck first in a chord was placed before it
            // (the group before looked still rolled on, or the chord came
            // early); the chord's notes show where it was played, and the
            // wrong pitch is then paired with the note it stood for, not
            // one left out of the group before. Only a match in time says
            // so: an early note (a timing slip) struck just after an extra
            // note of the group before is no chord with it. Pooled seeds 5
            // and 11 at rate 0.1: missed P/R 0.942 / 0.950 → 0.946 / 0.954
            // (seeds 1 and 2 alike); without the cost limit extra P 0.001
            // lower. Likewise one placed on the next beat (due) when the
            // chord's own note came just after it, late but in time for it
            // (pooled over seeds 5 and 11 and over 1 and 2, extra P
            // +0.0002 to +0.0008 at rates 0.05 and 0.1, nothing lower).
            if cost <= TAIL_COST {
                step.revised_extra = self.extras_struck_with(g, t);
            }
        } else if let Some(c) = self.current {
            let g = self.played_at(c, prev_extra.unwrap_or(c), t, prev_t);
            self.extra_group = Some(g);
            let wrong = self.near_miss(g, pitch);
            if let Some(h) = wrong {
                self.wrong_n = match self.wrong_at {
                    Some((w, _)) if w == h => self.wrong_n + 1,
                    _ => 1,
                };
                self.wrong_at = Some((h, t));
            }
            if let Some(l) = self.lost.last_mut().filter(|l| l.index == index) {
                l.near_miss = wrong.is_some();
            }
            if g > c {
                self.extra_reach = Some(self.extra_reach.map_or(g, |r| r.max(g)));
            }
            step.position = Some(self.position_of(g));
        } else if self.score.onset_count() > 0 {
            // Nothing recognised yet: the follower expects the start (it
            // looks for the first notes there), so a wrong first note was
            // played there — one group per note, chord notes together.
            let g = match prev_extra {
                Some(p) if t - prev_t > self.cfg.chord_s => {
                    (p + 1).min(self.score.onset_count() - 1)
                }
                Some(p) => p,
                None => 0,
            };
            self.extra_group = Some(g);
            step.position = Some(self.position_of(g));
        }
        self.remember(index, pitch, t, step.score_note, step.cost);
        if step.score_note.is_none() {
            if let Some(r) = self.recent.back_mut() {
                r.at = step.position.map(|p| p.group);
            }
        }
        Ok(step)
    }

    /// The extra notes struck just before a note at `t` matched in group
    /// `g` (each within `chord_s` of the next), placed elsewhere, when
    /// every matched note among them is in `g` too: they were struck with
    /// its chord (a chord note played wrong, struck first), so they were
    /// played at `g`. Moves them there; returns them as revised extras.
    fn extras_struck_with(&mut self, g: usize, t: f64) -> Vec<(usize, Position)> {
        let mates = self.chord_mates(t);
        let groups = self.score.groups();
        if mates
            .iter()
            .any(|r| r.note.is_some_and(|n| !groups[g].notes.contains(&n)))
        {
            return Vec::new();
        }
        let mut out = Vec::new();
        for r in self.recent.iter_mut().rev().take(mates.len()) {
            if r.index >= self.pass_start && r.note.is_none() && r.at.is_some_and(|a| a != g) {
                r.at = Some(g);
                out.push(r.index);
            }
        }
        out.into_iter()
            .rev()
            .map(|i| (i, self.position_of(g)))
            .collect()
    }

    /// The time group `h` was played at in this pass, by its notes other
    /// than performed note `skip`: their median onset (grace notes left
    /// out), and how many there are.
    fn own_time(&self, h: usize, skip: usize) -> Option<(f64, usize)> {
        let notes = self.score.notes();
        let group = &self.score.groups()[h];
        let mut times: Vec<f64> = self
            .recent
            .iter()
            .filter(|r| r.index >= self.pass_start && r.index != skip)
            .filter(|r| {
                r.note
                    .is_some_and(|n| !notes[n].grace && group.notes.contains(&n))
            })
            .map(|r| r.t)
            .collect();
        if times.is_empty() {
            return None;
        }
        times.sort_by(f64::total_cmp);
        let n = times.len();
        Some((0.5 * (times[(n - 1) / 2] + times[n / 2]), n))
    }

    /// Where group `h` falls between the nearest groups around it played
    /// in this pass (within `SETTLE_REACH` each side), by score position.
    fn between_time(&self, h: usize, skip: usize) -> Option<f64> {
        let groups = self.score.groups();
        let before = (h.saturating_sub(SETTLE_REACH)..h)
            .rev()
            .find_map(|g| self.own_time(g, skip).map(|(t, _)| (g, t)))?;
        let after = (h + 1..groups.len().min(h + 1 + SETTLE_REACH))
            .find_map(|g| self.own_time(g, skip).map(|(t, _)| (g, t)))?;
        let (q0, q1) = (groups[before.0].q, groups[after.0].q);
        (after.1 > before.1)
            .then(|| before.1 + (after.1 - before.1) * (groups[h].q - q0) / (q1 - q0))
    }

    /// How far a note struck at `t` is from group `h`'s time as played:
    /// by its other notes when there are two or more (one may be a slip),
    /// otherwise where its neighbours put it, or by its one other note.
    fn off_group(&self, h: usize, t: f64, skip: usize) -> Option<f64> {
        let own = self.own_time(h, skip);
        let time = match own {
            Some((x, n)) if n >= 2 => x,
            _ => self.between_time(h, skip).or(own.map(|(x, _)| x))?,
        };
        Some((t - time).abs())
    }

    /// Settles the note played `SETTLE_LAG` notes ago, now that the notes
    /// around it show when its group and its neighbours were played: a
    /// match is moved to a free note of the same pitch in a group at most
    /// two away that was played clearly nearer its time (by `SETTLE_MARGIN_S`),
    /// an extra note is matched to a free note of its pitch in a group played
    /// within `SETTLE_NEAR_S` of it. A timing slip of the player's, or of a
    /// chord's other notes, can put a note in the wrong group when it is
    /// played; the notes after it correct that. Returns the revision.
    fn settle(&mut self) -> Option<(usize, usize)> {
        let at = self.recent.len().checked_sub(SETTLE_LAG + 1)?;
        let r = self.recent[at];
        let current = self.current?;
        if r.index < self.pass_start {
            return None;
        }
        let notes = self.score.notes();
        let (lo, hi, now) = match r.note {
            Some(n) if notes[n].grace => return None,
            Some(n) => {
                let g = self.score.group_of(n);
                let now = self.off_group(g, r.t, r.index)?;
                (g.saturating_sub(2), (g + 2).min(current), Some((g, now)))
            }
            None => {
                // Around the group of the last note matched before it.
                let g = self.recent.iter().take(at).rev().find_map(|x| x.note)?;
                let g = self.score.group_of(g);
                (g.saturating_sub(1), (g + 3).min(current), None)
            }
        };
        let mut best: Option<(f64, usize, usize)> = None;
        for h in lo..=hi {
            if now.is_some_and(|(g, _)| g == h) {
                continue;
            }
            let Some(i) = self.free_note(h, r.pitch).filter(|&i| !notes[i].grace) else {
                continue;
            };
            let Some(d) = self.off_group(h, r.t, r.index) else {
                continue;
            };
            if best.map_or(true, |(bd, _, _)| d < bd) {
                best = Some((d, h, i));
            }
        }
        let (d, h, i) = best?;
        match now {
            Some((_, now_d)) if d + SETTLE_MARGIN_S >= now_d => return None,
            None if d > SETTLE_NEAR_S => return None,
            _ => {}
        }
        if let Some(n) = r.note {
            self.set_key(self.score.group_of(n), r.pitch, false, 0);
        }
        self.set_key(h, r.pitch, false, self.pass);
        self.recent[at].note = Some(i);
        Some((r.index, i))
    }

    /// Group `c`, first struck at `t`, came nearer the next group's time
    /// than its own (geometric midpoint, at the local tempo, from the group
    /// before it): a chord there may be the next group's.
    fn later_than_midway(&self, c: usize, t: f64) -> bool {
        let n = self.history.len();
        if n < 2 || c + 1 >= self.score.onset_count() {
            return false;
        }
        let groups = self.score.groups();
        let (pq, pt) = self.history[n - 2];
        let e = |g: usize| (groups[g].q - pq) * self.spq;
        t - pt >= (e(c) * e(c + 1)).sqrt()
    }

    /// The recent notes struck with one at `t` (each within `chord_s` of
    /// the next), newest first.
    fn chord_mates(&self, t: f64) -> Vec<Recent> {
        let mut mates = Vec::new();
        let mut next_t = t;
        for r in self.recent.iter().rev() {
            if next_t - r.t > self.cfg.chord_s {
                break;
            }
            mates.push(*r);
            next_t = r.t;
        }
        mates
    }

    /// A chord taken for the current group `c` that belongs to the next
    /// one: a note of it (`pitch`, at `t`) that `c` cannot take and `c + 1`
    /// can, when `c` was first struck by this chord and every note of it
    /// matched there is free in `c + 1` too. The group before went unplayed
    /// or was played wrong and the chord's first notes came late for it
    /// (they fit both); the rest of the chord decides. Moves those notes
    /// on; returns them as (performed index, score note).
    fn move_chord_on(&mut self, pitch: u8, t: f64) -> Vec<(usize, usize)> {
        let Some(c) = self.current else {
            return Vec::new();
        };
        let h = c + 1;
        let mates = self.chord_mates(t);
        let Some(first) = mates.last() else {
            return Vec::new();
        };
        if h >= self.score.onset_count()
            || self.group_pass[h] == self.pass
            || self.group_time[c] < first.t - 1e-9
            || self.free_note(h, pitch).is_none()
        {
            return Vec::new();
        }
        // The chord came late for `c` — or `c` was played already, wrong,
        // before it (this is the next group, not a correction).
        let played_wrong = self
            .wrong_at
            .is_some_and(|(g, tw)| g == c && tw < first.t - self.cfg.chord_s);
        if !played_wrong && !self.later_than_midway(c, first.t) {
            return Vec::new();
        }
        let in_c = |n: usize| self.score.groups()[c].notes.contains(&n);
        let mut moves: Vec<(usize, usize, f64)> = Vec::new();
        for r in mates.iter().rev() {
            let Some(n) = r.note.filter(|&n| in_c(n)) else {
                continue;
            };
            let pitch = self.score.notes()[n].pitch;
            let to = self.score.groups()[h].notes.iter().copied().find(|&i| {
                let note = &self.score.notes()[i];
                note.pitch == pitch
                    && !note.grace
                    && self.note_pass[i] != self.pass
                    && moves.iter().all(|&(_, m, _)| m != self.score.primary(i))
            });
            match to {
                Some(i) => moves.push((r.index, self.score.primary(i), r.t)),
                None => return Vec::new(),
            }
        }
        if moves.is_empty() {
            return Vec::new();
        }
        for &i in &self.score.groups()[c].notes {
            if self.note_pass[i] == self.pass {
                self.note_pass[i] = 0;
            }
        }
        self.group_pass[c] = 0;
        for &(_, note, at) in &moves {
            self.strike(h, note, at);
        }
        let (qc, qh) = (self.score.groups()[c].q, self.score.groups()[h].q);
        if let Some(last) = self.history.last_mut() {
            if (last.0 - qc).abs() < 1e-9 {
                last.0 = qh;
            }
        }
        self.current = Some(h);
        self.extra_reach = None;
        self.wrong_n = 0;
        for r in self.recent.iter_mut() {
            if let Some(&(_, note, _)) = moves.iter().find(|&&(i, _, _)| i == r.index) {
                r.note = Some(note);
            }
        }
        moves.iter().map(|&(i, note, _)| (i, note)).collect()
    }

    fn remember(&mut self, index: usize, pitch: u8, t: f64, note: Option<usize>, cost: f64) {
        self.recent.push_back(Recent {
            index,
            pitch,
            t,
            note,
            cost,
            at: None,
        });
        if self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }

    fn jump(&mut self, g: usize, ex: &[(usize, usize, usize)]) -> FollowStep {
        let m = self.lost.len();
        let &(k0, g0, _) = ex.last().expect("a jump explains notes");
        let used: Vec<usize> = ex.iter().map(|&(_, _, n)| n).collect();
        let mut older = self.extend_back(g0, self.lost[k0].t, self.lost[0].index, &used);
        let mut ex = ex.to_vec();
        self.begin_after_stop(&mut ex, &mut older);
        let ex = &ex[..];
        let &(k0, _, _) = ex.last().expect("a jump explains notes");
        self.pass += 1;
        self.history.clear();
        for &(i, h, note) in older.iter().rev() {
            let t = self.recent_note(i).map_or(0.0, |r| r.t);
            self.strike(h, note, t);
        }
        let mut points: Vec<(usize, f64)> = Vec::new();
        for &(k, h, note) in ex.iter().rev() {
            let t = self.lost[k].t;
            self.strike(h, note, t);
            if points.last().map_or(true, |&(lh, _)| h > lh) {
                points.push((h, t));
            }
        }
        // Tempo from the explained notes when they span enough of the score.
        let groups = self.score.groups();
        if let (Some(&(h0, t0)), Some(&(h1, t1))) = (points.first(), points.last()) {
            let dq = groups[h1].q - groups[h0].q;
            if dq >= 1.0 && t1 > t0 {
                self.spq = self.clamp_spq(h1, (self.spq + (t1 - t0) / dq) / 2.0);
            }
        }
        for &(h, t) in &points {
            self.history.push((groups[h].q, t));
        }
        if let Some(c) = self.current {
            self.before_jumps.push_back((c, self.count));
            if self.before_jumps.len() > BEFORE_JUMPS {
                self.before_jumps.pop_front();
            }
        }
        self.current = Some(g);
        self.extra_reach = None;
        self.wrong_n = 0;
        let mut revised: Vec<(usize, usize)> = ex
            .iter()
            .filter(|&&(k, _, _)| k + 1 < m)
            .map(|&(k, _, note)| (self.lost[k].index, note))
            .collect();
        revised.extend(older.iter().map(|&(i, _, note)| (i, note)));
        // Of the notes before the lost ones, only those whose match changed.
        revised.retain(|&(i, note)| {
            i >= self.lost[0].index || self.recent_note(i).is_some_and(|r| r.note != Some(note))
        });
        revised.sort_unstable();
        for r in self.recent.iter_mut() {
            if let Some(&(_, note)) = revised.iter().find(|&&(i, _)| i == r.index) {
                r.note = Some(note);
            }
        }
        let newest = self.lost[m - 1].index;
        // The new pass begins with the oldest note it explains.
        let start = older.last().map_or(self.lost[k0].index, |&(i, _, _)| i);
        let revised_extra = self.unexplained_in_pass(start, newest, ex, &older);
        // Passes the walk went back into are merged into the new one.
        while self.earlier_starts.back().is_some_and(|&l| l >= start) {
            self.earlier_starts.pop_back();
        }
        if self.pass_start < start {
            self.earlier_starts.push_back(self.pass_start);
            if self.earlier_starts.len() > BEFORE_JUMPS {
                self.earlier_starts.pop_front();
            }
        }
        self.pass_start = start;
        let own = ex.iter().find(|&&(k, _, _)| k + 1 == m).map(|&(_, _, n)| n);
        self.lost.clear();
        FollowStep {
            index: newest,
            score_note: own,
            position: Some(self.position_of(g)),
            cost: f64::NAN,
            jumped: true,
            revised,
            revised_extra,
            qpm: self.qpm(),
        }
    }

    /// Whether group `g` begins a bar.
    fn bar_start(&self, g: usize) -> bool {
        let first = &self.score.notes()[self.score.groups()[g].notes[0]];
        (first.beat - 1.0).abs() < 1e-6
    }

    /// A new pass whose first notes come before a bar start, with a longer
    /// time gap before that bar start than before its first note, begins at
    /// the bar start: the notes before it are where the player stopped (the
    /// current track has them at the bar start or after it), not the
    /// restart's first notes — a restart comes after a stop, and from a bar
    /// start. Trims `ex` (lost notes) and `older` (notes before them), both
    /// newest first.
    fn begin_after_stop(&self, ex: &mut Explained, older: &mut Explained) {
        // The new pass's notes oldest first: (performed index, group, time).
        let pass: Vec<(usize, usize, f64)> = older
            .iter()
            .rev()
            .map(|&(i, h, _)| (i, h, self.recent_note(i).map_or(0.0, |r| r.t)))
            .chain(
                ex.iter()
                    .rev()
                    .map(|&(k, h, _)| (self.lost[k].index, h, self.lost[k].t)),
            )
            .collect();
        let Some(b) = (0..pass.len()).find(|&p| self.bar_start(pass[p].1)) else {
            return;
        };
        // At most two groups before it: where the player stopped.
        if b == 0 || pass[b].1 == pass[0].1 || pass[..b].iter().any(|x| x.1 + 1 < pass[b - 1].1) {
            return;
        }
        // The current track has them at the bar start or after it: played
        // before the player went back (a track that ran behind and now
        // catches up has them before it).
        let mut after = false;
        for &(i, _, _) in &pass[..b] {
            // Doubtful on the current track (other than a wrong pitch):
            // not in its flow.
            if self
                .lost
                .iter()
                .any(|l| l.index == i && l.bad && !l.near_miss)
            {
                return;
            }
            let on_track = self.recent_note(i).and_then(|r| r.note);
            match on_track.map(|n| self.score.group_of(n)) {
                Some(h) if h < pass[b].1 => return,
                Some(_) => after = true,
                None => {}
            }
        }
        if !after {
            return;
        }
        let (first, _, t_first) = pass[0];
        let Some(prev_t) = self
            .recent
            .iter()
            .rev()
            .find(|r| r.index < first)
            .map(|r| r.t)
        else {
            return;
        };
        if pass[b].2 - pass[b - 1].2 <= t_first - prev_t {
            return;
        }
        let keep = pass[b].0;
        older.retain(|&(i, _, _)| i >= keep);
        let lost = &self.lost;
        ex.retain(|&(k, _, _)| lost[k].index >= keep);
    }

    /// The extra notes from `start` to before `newest`, each placed where
    /// the last note before it that a jump's new pass explains (`ex`: among
    /// the lost notes, `older`: before them) was played.
    fn unexplained_in_pass(
        &self,
        start: usize,
        newest: usize,
        ex: &[(usize, usize, usize)],
        older: &[(usize, usize, usize)],
    ) -> Vec<(usize, Position)> {
        let mut explained: Vec<(usize, usize)> = ex
            .iter()
            .map(|&(k, g, _)| (self.lost[k].index, g))
            .chain(older.iter().map(|&(i, g, _)| (i, g)))
            .collect();
        explained.sort_unstable();
        self.recent
            .iter()
            .filter(|r| r.note.is_none() && (start..newest).contains(&r.index))
            .filter_map(|r| {
                // The last explained note up to it: one before it.
                let at = explained.partition_point(|&(i, _)| i <= r.index);
                let &(i, g) = explained.get(at.checked_sub(1)?)?;
                (i != r.index).then(|| (r.index, self.position_of(g)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assessment::ScoreNote;

    /// A two-octave C major scale up and down in eighths, four bars of
    /// 2/4... bar = 4 quarters here (ScoreNote::simple).
    fn tune() -> Score {
        let pitches = [
            60u8, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83, 84, 83, 81, 79, 77, 76, 74,
            72, 71, 69, 67, 65, 64, 62, 60, 62, 64, 67,
        ];
        eighths(pitches.iter())
    }

    fn follow(score: &Score, notes: &[(u8, f64)]) -> Vec<FollowStep> {
        let mut f = Follower::new(score.clone(), FollowConfig::default()).unwrap();
        notes
            .iter()
            .map(|&(p, t)| f.push(p, t, 64).unwrap())
            .collect()
    }

    fn play(score: &Score, from: usize, to: usize, t0: f64, spq: f64) -> Vec<(u8, f64)> {
        let q0 = score.notes()[from].onset_q;
        (from..to)
            .map(|i| {
                let n = &score.notes()[i];
                (n.pitch, t0 + (n.onset_q - q0) * spq)
            })
            .collect()
    }

    #[test]
    fn follows_in_order_playing() {
        let s = tune();
        let steps = follow(&s, &play(&s, 0, s.len(), 1.0, 0.4));
        for (i, st) in steps.iter().enumerate() {
            assert_eq!(st.score_note, Some(i));
        }
        assert!((steps.last().unwrap().qpm - 150.0).abs() < 5.0);
    }

    #[test]
    fn wrong_note_is_extra_and_following_goes_on() {
        let s = tune();
        let mut perf = play(&s, 0, s.len(), 0.0, 0.5);
        perf[5].0 = 61; // not in the score near there
        let steps = follow(&s, &perf);
        assert_eq!(steps[5].score_note, None);
        // Played on note 5's beat: placed there; the position moves on.
        assert_eq!(steps[5].position.unwrap().group, 5);
        for (i, st) in steps.iter().enumerate().skip(6) {
            assert_eq!(st.score_note, Some(i));
        }
    }

    #[test]
    fn a_note_played_just_after_the_next_one_is_matched() {
        let s = tune();
        let mut perf = play(&s, 0, s.len(), 0.0, 0.5);
        // Note 5 comes 30 ms after note 6 (a timing slip).
        perf[5].1 = perf[6].1 + 0.03;
        perf.sort_by(|a, b| a.1.total_cmp(&b.1));
        let steps = follow(&s, &perf);
        let got: Vec<Option<usize>> = steps.iter().map(|st| st.score_note).collect();
        let mut want: Vec<Option<usize>> = (0..s.len()).map(Some).collect();
        want.swap(5, 6);
        assert_eq!(got, want);
    }

    #[test]
    fn missed_notes_and_chords_out_of_order() {
        let s = beats(&[
            (60, 0.0),
            (64, 0.0),
            (67, 0.0),
            (62, 1.0),
            (65, 2.0),
            (59, 3.0),
            (55, 3.0),
        ]);
        // Chord rolled top down, note 62 missed, last chord uneven.
        let perf = [
            (67, 0.0),
            (64, 0.02),
            (60, 0.05),
            (65, 1.0),
            (55, 1.5),
            (59, 1.58),
        ];
        let steps = follow(&s, &perf);
        let got: Vec<Option<usize>> = steps.iter().map(|s| s.score_note).collect();
        assert_eq!(
            got,
            vec![Some(2), Some(1), Some(0), Some(4), Some(6), Some(5)]
        );
    }

    /// The tune's first `stop` notes a quarter (0.5 s) apart, then from
    /// bar 2 (note 8) to the end from `again` seconds.
    fn tune_restarted(stop: usize, again: f64) -> Vec<FollowStep> {
        let s = tune();
        let mut perf = play(&s, 0, stop, 0.0, 0.5);
        perf.extend(play(&s, 8, s.len(), again, 0.5));
        follow(&s, &perf)
    }

    #[test]
    fn restart_from_earlier_bar_is_followed() {
        // Bars 1–3, then back to the start of bar 2, then to the end.
        let steps = tune_restarted(24, 12.5);
        let after: Vec<Option<usize>> = steps[24..].iter().map(|s| s.score_note).collect();
        // At most two notes lost before the jump, and they are revised.
        let jump = steps.iter().position(|s| s.jumped).unwrap();
        assert!(jump <= 26, "jumped at {jump}");
        assert_eq!(steps[jump].revised.len(), jump - 24);
        for (k, got) in after.iter().enumerate().skip(jump - 24) {
            assert_eq!(*got, Some(8 + k));
        }
        for &(p, n) in &steps[jump].revised {
            assert_eq!(n, p - 24 + 8);
        }
    }

    /// A score of (pitch, onset in quarters) notes, a quarter long each.
    fn beats(notes: &[(u8, f64)]) -> Score {
        let notes = notes
            .iter()
            .map(|&(p, q)| ScoreNote::simple(p, q, 1.0))
            .collect();
        Score::new(notes).unwrap()
    }

    /// A score of eighth notes (half a quarter each) of these pitches.
    fn eighths<'a>(pitches: impl Iterator<Item = &'a u8>) -> Score {
        let notes = pitches
            .enumerate()
            .map(|(i, &p)| ScoreNote::simple(p, i as f64 * 0.5, 0.5))
            .collect();
        Score::new(notes).unwrap()
    }

    /// Final matches: each step's, then each jump's revisions applied.
    fn final_matches(steps: &[FollowStep]) -> Vec<Option<usize>> {
        let mut out: Vec<Option<usize>> = steps.iter().map(|s| s.score_note).collect();
        for st in steps {
            for &(i, n) in &st.revised {
                out[i] = Some(n);
            }
        }
        out
    }

    /// Three-note chords a beat apart, no pitch shared by neighbours.
    fn chords_on_beats(n: usize) -> Score {
        let mut notes = Vec::new();
        for g in 0..n {
            let base = 2 * g as u8;
            for p in [40 + base, 55 + base, 70 + base] {
                notes.push((p, g as f64));
            }
        }
        beats(&notes)
    }

    /// Chords at 0.5 s a beat; the sixth chord comes a third of a beat
    /// early, its top note struck at `top_t`, ahead of the rest (2.67 s):
    /// too early for the chord when it is struck (extra). Returns the top
    /// note's match when struck and once settled, and whether every note
    /// ends up matched.
    fn chord_note_ahead(top_t: f64) -> (Option<usize>, Option<usize>, bool) {
        let s = chords_on_beats(10);
        let mut perf: Vec<(u8, f64)> = Vec::new();
        for (i, n) in s.notes().iter().enumerate() {
            let g = n.onset_q;
            let t = if g == 6.0 { 2.67 } else { 0.5 * g };
            perf.push((n.pitch, t + 0.01 * (i % 3) as f64));
        }
        perf[20].1 = top_t;
        perf.sort_by(|a, b| a.1.total_cmp(&b.1));
        let steps = follow(&s, &perf);
        let top = perf.iter().position(|&(p, _)| p == 82).unwrap();
        let settled = final_matches(&steps);
        let all = settled.iter().all(Option::is_some);
        (steps[top].score_note, settled[top], all)
    }

    #[test]
    fn a_chord_note_struck_ahead_of_its_chord_is_settled_into_it() {
        // Its chord, struck 70 ms after it, shows where it belongs once a
        // few notes have followed.
        assert_eq!(chord_note_ahead(2.6), (None, Some(20), true));
    }

    #[test]
    fn a_chord_note_struck_well_ahead_of_its_chord_is_settled_into_it() {
        // 0.13 s ahead (a slip of the hand: within `SETTLE_NEAR_S`).
        assert_eq!(chord_note_ahead(2.545), (None, Some(20), true));
    }

    /// A B A C in eighths, one bar each: the two A bars are note for
    /// note the same.
    fn a_b_a_c() -> Score {
        let a = [60u8, 62, 64, 65, 67, 65, 64, 62];
        let b = [72u8, 74, 76, 77, 79, 77, 76, 74];
        let c = [48u8, 50, 52, 53, 55, 53, 52, 50];
        let pitches: Vec<u8> = [a, b, a, c].concat();
        eighths(pitches.iter())
    }

    #[test]
    fn restart_into_a_literal_repeat_is_revised_when_the_copies_part() {
        let s = a_b_a_c();
        // Into the last bar, then back to the very start: the first A
        // looks like the second (the nearer) until B comes.
        let mut perf = play(&s, 0, 28, 0.0, 0.5);
        perf.extend(play(&s, 0, s.len(), 15.0, 0.5));
        let got = final_matches(&follow(&s, &perf));
        for (k, n) in got.iter().enumerate().skip(28 + 3) {
            assert_eq!(*n, Some(k - 28), "note {k}");
        }
        for (k, n) in got.iter().enumerate().take(28) {
            assert_eq!(*n, Some(k), "note {k}");
        }
    }

    #[test]
    fn a_walk_back_takes_a_note_slipped_late_onto_the_next() {
        let s = a_b_a_c();
        // As above, but in the replay the first A's G (note 4) comes late,
        // 40 ms before the F after it: off the pass's pace, yet the walk
        // back from B takes it (and the F) into the first A with the rest.
        let mut perf = play(&s, 0, 28, 0.0, 0.5);
        let mut again = play(&s, 0, s.len(), 15.0, 0.5);
        again[4].1 = again[5].1 - 0.04;
        perf.extend(again);
        let got = final_matches(&follow(&s, &perf));
        for (k, n) in got.iter().enumerate().skip(28) {
            assert_eq!(*n, Some(k - 28), "note {k}");
        }
    }

    #[test]
    fn a_walk_back_goes_through_a_spread_chord() {
        // A B A C as in `a_b_a_c`, a bar of four quarters each, with a chord
        // (G3 under the G4) on the third beat of each A; the chord is spread,
        // its top note 0.2 s after its bass. Into the last bar, then back to
        // the very start: the first A is read as the second until B comes,
        // and the walk back revising the pass goes through the spread chord
        // to the start of the replay.
        let bar = |base: u8, chord: bool| {
            let steps = [0u8, 2, 4, 5, 7, 5, 4, 2];
            let mut v: Vec<(u8, f64)> = steps
                .iter()
                .enumerate()
                .map(|(k, &d)| (base + d, 0.5 * k as f64))
                .collect();
            if chord {
                v.push((base - 5, 2.0));
            }
            v
        };
        let mut notes: Vec<(u8, f64)> = Vec::new();
        for (k, (base, chord)) in [(60, true), (72, false), (60, true), (48, false)]
            .into_iter()
            .enumerate()
        {
            let q0 = 4.0 * k as f64;
            notes.extend(bar(base, chord).iter().map(|&(p, q)| (p, q + q0)));
        }
        let s = beats(&notes);
        // Played at a second a quarter, the chord's G4 0.2 s after its G3:
        // (pitch, time, score onset) in playing order.
        let played = |to: usize, t0: f64| -> Vec<(u8, f64, f64)> {
            let mut v: Vec<(u8, f64, f64)> = s.notes()[..to]
                .iter()
                .map(|n| {
                    let late = if n.pitch == 67 { 0.2 } else { 0.0 };
                    (n.pitch, t0 + n.onset_q + late, n.onset_q)
                })
                .collect();
            v.sort_by(|a, b| a.1.total_cmp(&b.1));
            v
        };
        let again = played(s.len(), 40.0);
        let mut perf: Vec<(u8, f64)> = played(9 + 8 + 9 + 4, 0.0)
            .iter()
            .map(|&(p, t, _)| (p, t))
            .collect();
        let first = perf.len();
        perf.extend(again.iter().map(|&(p, t, _)| (p, t)));
        let got = final_matches(&follow(&s, &perf));
        for (k, &(_, _, q)) in again.iter().enumerate().take(9) {
            let n = got[first + k].map(|n| s.notes()[n].onset_q);
            assert_eq!(n, Some(q), "replayed note {k}");
        }
    }

    #[test]
    fn extra_notes_of_a_revised_pass_are_placed_in_it() {
        // A B A C as above; back to the start after the last bar, with an
        // extra note (90) after the replay's fourth note, while the follower
        // still takes the first A for the second: once the copies part, the
        // extra note is placed in the first bar, after its fourth note.
        let s = a_b_a_c();
        let mut perf = play(&s, 0, 28, 0.0, 0.5);
        let mut again = play(&s, 0, s.len(), 15.0, 0.5);
        again.insert(4, (90, 15.0 + 3.5 * 0.25));
        perf.extend(again);
        let steps = follow(&s, &perf);
        let extra = 28 + 4;
        assert_eq!(steps[extra].score_note, None);
        let placed: Vec<f64> = steps
            .iter()
            .flat_map(|st| st.revised_extra.iter())
            .filter(|&&(i, _)| i == extra)
            .map(|&(_, p)| p.score_q)
            .collect();
        assert_eq!(
            placed.last().copied(),
            Some(1.5),
            "reported at {:?}",
            steps[extra].position
        );
    }

    #[test]
    fn a_restart_does_not_take_back_part_of_the_chord_before_it() {
        // Two-note chords a quarter apart; the chord the player stops on
        // (g8) shares two pitches with the one before the restart point.
        let chords: [[u8; 2]; 12] = [
            [48, 60],
            [50, 62],
            [52, 64],
            [53, 65],
            [55, 67],
            [57, 69],
            [59, 71],
            [60, 72],
            [65, 77],
            [64, 76],
            [62, 74],
            [60, 72],
        ];
        let mut notes: Vec<(u8, f64)> = Vec::new();
        for (g, c) in chords.iter().enumerate() {
            notes.extend(c.iter().map(|&p| (p, g as f64)));
        }
        notes.push((53, 8.0)); // g8 is [53, 65, 77]
        let s = beats(&notes);
        let idx = |p: u8, q: f64| {
            s.notes()
                .iter()
                .position(|n| n.pitch == p && (n.onset_q - q).abs() < 1e-9)
                .unwrap()
        };
        let mut perf: Vec<(u8, f64)> = Vec::new();
        for (g, c) in chords.iter().enumerate().take(8) {
            perf.extend(c.iter().map(|&p| (p, g as f64 * 0.5)));
        }
        // g8 struck 77 first, then 53 and 65: then back to bar 2.
        perf.extend([(77, 4.0), (53, 4.01), (65, 4.02)]);
        for (k, c) in chords.iter().enumerate().skip(4) {
            perf.extend(c.iter().map(|&p| (p, 4.5 + (k - 4) as f64 * 0.5)));
        }
        let steps = follow(&s, &perf);
        assert!(steps.iter().any(|st| st.jumped));
        let got = final_matches(&steps);
        // The whole chord stays on g8, where it was struck.
        assert_eq!(got[16], Some(idx(77, 8.0)));
        assert_eq!(got[17], Some(idx(53, 8.0)));
        assert_eq!(got[18], Some(idx(65, 8.0)));
        // The replay is followed from bar 2.
        assert_eq!(got[19], Some(idx(55, 4.0)));
        assert_eq!(got[perf.len() - 1], Some(idx(72, 11.0)));
    }

    /// From performed note `from` on, the replay that began at performed
    /// note `first` is matched note for note from score note `back`.
    fn assert_replay(got: &[Option<usize>], from: usize, first: usize, back: usize) {
        for (k, n) in got.iter().enumerate().skip(from) {
            assert_eq!(*n, Some(k - first + back), "note {k}");
        }
    }

    #[test]
    fn the_note_played_in_time_before_a_restart_is_where_the_player_stopped() {
        // Up to note 21 (72), in time, then straight back to bar 2 (74 ...)
        // one note later: the group before bar 2 also holds 72.
        let steps = tune_restarted(22, 5.5);
        assert!(steps.iter().any(|st| st.jumped));
        let got = final_matches(&steps);
        assert_eq!(got[21], Some(21));
        assert_replay(&got, 22 + 3, 22, 8);
    }

    #[test]
    fn the_stop_note_stays_when_the_restart_began_on_the_track() {
        // G A (67 65) twice; the player stops on the second G, in time, and
        // goes back to the first A at once: that A fits the second A
        // (early, at a cost between `TAIL_COST` and `lost_cost`), so the
        // walk back takes it and then the G. The G is still the stop note.
        let s = eighths(
            [
                60u8, 62, 64, 67, 65, 69, 71, 72, 74, 76, 77, 67, 65, 79, 81, 83, 84, 86,
            ]
            .iter(),
        );
        let mut perf = play(&s, 0, 12, 0.0, 0.5);
        perf.extend(play(&s, 4, s.len(), 2.9, 0.5));
        let steps = follow(&s, &perf);
        assert!(steps[12].cost > TAIL_COST && steps[12].cost <= 0.9);
        assert!(steps.iter().any(|st| st.jumped));
        let got = final_matches(&steps);
        assert_eq!(got[11], Some(11));
        assert_replay(&got, 12, 12, 4);
    }

    #[test]
    fn a_restart_begins_at_the_bar_start_after_the_stop() {
        // The player stops after 71 72 (notes 20, 21), in time, and goes
        // back to bar 2 (note 8) after a pause: the end of bar 1 also holds
        // 71 72, and the walk back from bar 2 fits them in time, but they
        // come before the bar start with a longer pause after them than
        // before: they are where the player stopped.
        let s = eighths(
            [
                60u8, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83, 84, 86, 88, 89, 91, 93,
                71, 72, 95, 96, 98, 100, 101, 103,
            ]
            .iter(),
        );
        let mut perf = play(&s, 0, 22, 0.0, 0.5);
        perf.extend(play(&s, 8, s.len(), 5.75, 0.5));
        let steps = follow(&s, &perf);
        assert!(steps.iter().any(|st| st.jumped));
        let got = final_matches(&steps);
        assert_eq!(got[20], Some(20));
        assert_eq!(got[21], Some(21));
        assert_replay(&got, 22, 22, 8);
    }

    #[test]
    fn the_walk_back_goes_on_through_a_pass_it_explains_whole() {
        // Notes 0-5 of the scale played in time; a jump (a wrong turn)
        // began a pass at note 3. A jump whose walk back from note 6
        // explains that whole pass goes on before it.
        let s = tune();
        let mut f = Follower::new(s.clone(), FollowConfig::default()).unwrap();
        for &(p, t) in &play(&s, 0, 6, 0.0, 0.5) {
            f.push(p, t, 64).unwrap();
        }
        f.earlier_starts.push_back(f.pass_start);
        f.pass_start = 3;
        let out = f.extend_back(6, 1.5, 6, &[]);
        let got: Vec<usize> = out.iter().map(|&(i, _, _)| i).collect();
        assert_eq!(got, vec![5, 4, 3, 2, 1, 0]);
        for &(i, h, n) in &out {
            assert_eq!((h, n), (i, i));
        }
    }

    #[test]
    fn the_walk_back_times_a_spread_chord_by_its_latest_note() {
        // A B A C as above, A's third onset a chord (64 + 71).
        let a = [60u8, 62, 64, 65, 67, 65, 64, 62];
        let b = [72u8, 74, 76, 77, 79, 77, 76, 74];
        let c = [48u8, 50, 52, 53, 55, 53, 52, 50];
        let mut notes: Vec<ScoreNote> = [a, b, a, c]
            .concat()
            .iter()
            .enumerate()
            .map(|(i, &p)| ScoreNote::simple(p, i as f64 * 0.5, 0.5))
            .collect();
        notes.push(ScoreNote::simple(71, 1.0, 0.5));
        notes.push(ScoreNote::simple(71, 9.0, 0.5));
        let s = Score::new(notes).unwrap();
        // Eighths 0.15 s apart; the chord spread, its 71 0.12 s early.
        let spq = 0.3;
        let take = |t0: f64, from: usize, to: usize| -> Vec<(u8, f64)> {
            let mut out = Vec::new();
            for (k, &p) in [a, b, a, c].concat()[from..to].iter().enumerate() {
                let i = from + k;
                let t = t0 + k as f64 * 0.5 * spq;
                if i % 16 == 2 {
                    out.push((71, t - 0.12));
                }
                out.push((p, t));
            }
            out
        };
        let mut perf = take(0.0, 0, 28);
        perf.extend(take(10.0, 0, 32));
        let n0 = 30; // the restart's first note
        let steps = follow(&s, &perf);
        let got = final_matches(&steps);
        // The restart's first A, taken for the second until B came, is
        // moved back to the first copy as a whole, across the chord.
        for (k, n) in got.iter().enumerate().skip(n0).take(9) {
            let q = s.notes()[n.unwrap()].onset_q;
            assert!(q < 4.0, "note {k} at {q}");
        }
    }

    /// g0 = [48, 60, 64], then 65, 64, 67 a beat each.
    fn spread_chord_then_beats() -> Score {
        beats(&[
            (48, 0.0),
            (60, 0.0),
            (64, 0.0),
            (65, 1.0),
            (64, 2.0),
            (67, 3.0),
        ])
    }

    #[test]
    fn a_spread_chord_with_a_note_left_out_is_not_rolled_on() {
        // g0 = [48, 60, 64] struck 48, 60 a tenth apart, 64 left out.
        let s = spread_chord_then_beats();
        // Then 64 when g2 is due (g1 left out too): g2's, not g0's late.
        let steps = follow(&s, &[(48, 0.0), (60, 0.1), (64, 1.0), (67, 1.5)]);
        assert_eq!(steps[2].score_note, Some(4));
    }

    #[test]
    fn a_wrong_note_after_a_spread_chord_is_played_on_the_next_beat() {
        let s = spread_chord_then_beats();
        // g0 struck 48, 60 a tenth apart, 64 left out; a wrong note a beat
        // on is played on that beat, not in the chord still being rolled.
        let steps = follow(&s, &[(48, 0.0), (60, 0.1), (66, 0.6), (64, 1.0)]);
        assert_eq!(steps[2].score_note, None);
        assert_eq!(steps[2].position.unwrap().group, 1);
    }

    /// The extra notes a step placed anew: (performed index, group).
    fn extra_moved(step: &FollowStep) -> Vec<(usize, usize)> {
        step.revised_extra
            .iter()
            .map(|&(i, p)| (i, p.group))
            .collect()
    }

    #[test]
    fn a_wrong_note_struck_first_in_a_chord_is_placed_with_it() {
        // g0 = [48, 64], g1 = [53, 65], then a beat each.
        let s = beats(&[
            (48, 0.0),
            (64, 0.0),
            (53, 1.0),
            (65, 1.0),
            (67, 2.0),
            (69, 3.0),
        ]);
        // 64 left out of g0; g1's 53 played wrong (54), struck just before
        // its 65: when struck, g0 might still be rolled on (placed there).
        let steps = follow(&s, &[(48, 0.0), (54, 0.5), (65, 0.52), (67, 1.0)]);
        assert_eq!(steps[1].score_note, None);
        assert_eq!(steps[1].position.unwrap().group, 0);
        // The 65 struck with it shows it was g1's chord: placed there.
        assert_eq!(steps[2].score_note, Some(3));
        assert_eq!(extra_moved(&steps[2]), vec![(1, 1)]);
    }

    #[test]
    fn a_wrong_note_struck_in_a_chord_is_not_placed_on_the_next_beat() {
        // g0 = [48, 60, 64], then sixteenths.
        let s = beats(&[
            (48, 0.0),
            (60, 0.0),
            (64, 0.0),
            (65, 0.25),
            (67, 0.5),
            (69, 0.75),
        ]);
        // 48 and 60 struck as a block, then a wrong note (63) when g1 is
        // due, but 64 just after it, in time for g0: the chord's notes.
        let steps = follow(&s, &[(48, 0.0), (60, 0.01), (63, 0.1), (64, 0.12)]);
        assert_eq!(steps[2].score_note, None);
        assert_eq!(steps[2].position.unwrap().group, 1);
        assert_eq!(steps[3].score_note, Some(2));
        assert_eq!(extra_moved(&steps[3]), vec![(2, 0)]);
    }

    #[test]
    fn slow_roll_is_one_chord() {
        // A seven-note chord rolled a note every 0.6 s, then a melody note.
        let mut notes: Vec<ScoreNote> = [41u8, 48, 53, 57, 60, 65, 69]
            .iter()
            .map(|&p| ScoreNote::simple(p, 0.0, 2.0))
            .collect();
        notes.push(ScoreNote::simple(72, 2.0, 1.0));
        let s = Score::new(notes).unwrap();
        let perf: Vec<(u8, f64)> = [41u8, 48, 53, 57, 60, 65, 69]
            .iter()
            .enumerate()
            .map(|(k, &p)| (p, k as f64 * 0.6))
            .chain([(72, 4.5)])
            .collect();
        let got: Vec<Option<usize>> = follow(&s, &perf).iter().map(|s| s.score_note).collect();
        assert!(got.iter().all(Option::is_some), "{got:?}");
    }

    #[test]
    fn a_slip_that_matches_music_far_ahead_is_not_a_jump() {
        // Eight bars of eighths; bar 7 opens with 53 55 90 91.
        let bars: [[u8; 8]; 8] = [
            [60, 62, 64, 65, 67, 69, 71, 72],
            [74, 72, 71, 69, 67, 65, 64, 62],
            [48, 50, 52, 53, 55, 57, 59, 60],
            [84, 83, 81, 79, 77, 76, 74, 72],
            [36, 38, 40, 41, 43, 45, 47, 48],
            [66, 68, 70, 73, 75, 78, 80, 82],
            [53, 55, 90, 91, 96, 98, 100, 102],
            [57, 56, 54, 51, 49, 46, 44, 42],
        ];
        let s = eighths(bars.iter().flatten());
        // Bar 3 up to its 55, then 53 55 again and two stray notes: bar 7
        // explains all four, the current place two; then bar 3 goes on.
        let mut perf = play(&s, 0, 21, 0.0, 0.5);
        perf.extend([(53, 5.25), (55, 5.5), (90, 5.75), (91, 6.0)]);
        perf.extend(play(&s, 21, s.len(), 6.25, 0.5));
        let steps = follow(&s, &perf);
        assert!(steps.iter().all(|st| !st.jumped));
        for (k, st) in steps.iter().enumerate().skip(25) {
            assert_eq!(st.score_note, Some(k - 4), "note {k}");
        }
    }

    #[test]
    fn skip_ahead_and_pause() {
        let s = tune();
        // Bar 1, a 5 s pause, then from note 20 on.
        let mut perf = play(&s, 0, 8, 0.0, 0.5);
        perf.extend(play(&s, 20, s.len(), 9.0, 0.5));
        let steps = follow(&s, &perf);
        let jump = steps.iter().position(|s| s.jumped).unwrap();
        // Note 74 also follows bar 1: three notes go by before the jump.
        assert!(jump <= 11, "jumped at {jump}");
        for (k, st) in steps.iter().enumerate().skip(jump) {
            assert_eq!(st.score_note, Some(k - 8 + 20));
        }
        // A pause mid-way: the position holds, then goes on.
        let mut perf = play(&s, 0, 10, 0.0, 0.5);
        perf.extend(play(&s, 10, s.len(), 20.0, 0.5));
        let steps = follow(&s, &perf);
        for (i, st) in steps.iter().enumerate() {
            assert_eq!(st.score_note, Some(i));
        }
    }

    #[test]
    fn a_chord_played_wrong_is_placed_on_its_beat_and_not_followed_one_off() {
        // Eight beats of the same chord (as op. 38's opening).
        let chord = [53u8, 60, 69, 72];
        let notes = (0..8)
            .flat_map(|q| chord.map(|p| ScoreNote::simple(p, f64::from(q), 1.0)))
            .collect();
        let s = Score::new(notes).unwrap();
        // Beat 4's chord all a semitone up: four extra notes on that beat.
        let perf: Vec<(u8, f64)> = (0..8)
            .flat_map(|q| {
                chord
                    .iter()
                    .enumerate()
                    .map(move |(k, &p)| {
                        let p = if q == 3 { p + 1 } else { p };
                        (p, f64::from(q) * 0.5 + k as f64 * 0.01)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let steps = follow(&s, &perf);
        for st in &steps[12..16] {
            assert_eq!(st.score_note, None);
            assert_eq!(st.position.unwrap().score_q, 3.0);
        }
        // The next chords are their own beats', not the beat before's.
        for (k, st) in steps.iter().enumerate().skip(16) {
            let n = st.score_note.unwrap();
            assert_eq!(s.notes()[n].onset_q, (k / 4) as f64, "note {k}");
        }
    }

    #[test]
    fn slow_grace_arpeggio_then_its_main_note() {
        // A chord, four grace notes leading to 69, then 69 repeated.
        let mut notes = vec![
            ScoreNote::simple(48, 0.0, 1.0),
            ScoreNote::simple(60, 0.0, 1.0),
        ];
        for p in [41u8, 48, 53, 57] {
            let mut n = ScoreNote::simple(p, 1.0, 0.0);
            n.grace = true;
            notes.push(n);
        }
        for q in [1.0, 1.5, 2.0, 2.5] {
            notes.push(ScoreNote::simple(69, q, 0.5));
        }
        notes.push(ScoreNote::simple(48, 3.0, 1.0));
        let s = Score::new(notes).unwrap();
        // The grace notes up to 1.5 s apart, the 69s in tempo after them.
        let perf = [
            (48u8, 0.0),
            (60, 0.01),
            (41, 0.5),
            (48, 2.0),
            (53, 3.2),
            (57, 4.1),
            (69, 4.8),
            (69, 5.05),
            (69, 5.3),
            (69, 5.55),
            (48, 5.8),
        ];
        let steps = follow(&s, &perf);
        let got: Vec<Option<f64>> = steps
            .iter()
            .map(|st| st.score_note.map(|n| s.notes()[n].onset_q))
            .collect();
        let want = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0];
        assert_eq!(got, want.map(Some).to_vec());
    }

    #[test]
    fn an_old_restart_does_not_make_its_place_near() {
        // Sixteen bars of eighths; bar 2 opens with 53 55 90 91, bar 13 is
        // 48 … 60 (as in the test above, the slip's music 11 bars back).
        let bar = |k: usize| -> Vec<u8> {
            match k {
                1 => vec![53, 55, 90, 91, 96, 98, 100, 102],
                12 => vec![48, 50, 52, 53, 55, 57, 59, 60],
                _ => (0..8)
                    .map(|j| {
                        let p = 20 + ((k * 5 + j * 2) % 30) as u8;
                        if p == 53 || p == 55 {
                            p + 1
                        } else {
                            p
                        }
                    })
                    .collect(),
            }
        };
        let pitches: Vec<u8> = (0..16).flat_map(bar).collect();
        let s = eighths(pitches.iter());
        // Bars 1–3, a restart from bar 1 (a jump from bar 3) and on to bar
        // 13's 55; then 53 55 again and two stray notes, which bar 2
        // explains; then bar 13 goes on. The restart is 80 notes old: bar 2
        // is far from where the player is.
        let mut perf = play(&s, 0, 24, 0.0, 0.5);
        perf.extend(play(&s, 0, 101, 12.5, 0.5));
        let t = perf.last().unwrap().1;
        perf.extend([(53, t + 0.25), (55, t + 0.5), (90, t + 0.75), (91, t + 1.0)]);
        perf.extend(play(&s, 101, s.len(), t + 1.25, 0.5));
        let steps = follow(&s, &perf);
        let jumps: Vec<usize> = (0..steps.len()).filter(|&k| steps[k].jumped).collect();
        assert_eq!(jumps.len(), 1, "{jumps:?}");
        assert!(jumps[0] < 30);
        for (k, st) in steps.iter().enumerate().skip(24 + 101 + 4) {
            assert_eq!(st.score_note, Some(k - 24 - 4), "note {k}");
        }
    }

    #[test]
    fn a_restart_just_after_an_extra_note_is_taken_as_soon_as_it_is_clear() {
        // Bars 1–3 with an extra note three notes before the stop, then back
        // to bar 2: the notes played well between the extra note and the
        // stop are the old track's, and do not hold the restart back.
        let s = tune();
        let mut perf = play(&s, 0, 24, 0.0, 0.5);
        perf.insert(21, (61, 5.125));
        perf.extend(play(&s, 8, s.len(), 12.5, 0.5));
        let steps = follow(&s, &perf);
        let jump = steps.iter().position(|s| s.jumped).unwrap();
        assert!(jump <= 27, "jumped on note {jump}");
        let got = final_matches(&steps);
        for (k, m) in got.iter().enumerate().skip(25) {
            assert_eq!(*m, Some(8 + k - 25), "note {k}");
        }
    }

    #[test]
    fn a_skewed_tempo_estimate_does_not_pick_the_copy_that_fits_it() {
        // A motif in eighths in bar 1, and in quarters in bar 4.
        let s = beats(&[
            (60, 0.0),
            (64, 0.5),
            (67, 1.0),
            (72, 1.5),
            (65, 2.0),
            (69, 3.0),
            (71, 4.0),
            (74, 5.0),
            (76, 6.0),
            (77, 7.0),
            (79, 8.0),
            (81, 9.0),
            (83, 10.0),
            (84, 11.0),
            (60, 12.0),
            (64, 13.0),
            (67, 14.0),
            (72, 15.0),
            (86, 16.0),
        ]);
        let mut f = Follower::new(s.clone(), FollowConfig::default()).unwrap();
        for &(p, t) in &play(&s, 0, 10, 0.0, 0.5) {
            f.push(p, t, 64).unwrap();
        }
        // A few doubtful groups left the estimate twice as fast as the
        // player (who goes back to bar 1 at the pace so far): the quarters'
        // spacing fits it, the eighths' fits the pace.
        f.spq = 0.25;
        let steps: Vec<FollowStep> = play(&s, 0, 6, 5.5, 0.5)
            .iter()
            .map(|&(p, t)| f.push(p, t, 64).unwrap())
            .collect();
        let jump = steps.iter().position(|s| s.jumped).unwrap();
        assert_eq!(steps[jump].position.unwrap().bar, 1);
    }

    #[test]
    fn a_track_a_group_behind_on_repeated_octaves_is_pushed_on() {
        // Octaves C5/C4, short-long (an eighth, then a quarter), then
        // chords adding an F3 and an A4 (the opening of Chopin's op. 38).
        // The first octave is played as one wrong note, so the next one
        // reads as the first and the track runs a group behind: the
        // pitches fit it, the timing does not (each quarter comes in an
        // eighth's time, each eighth in a quarter's). The first chord's A4
        // comes too early for the group after the track's: extra, and the
        // group after the track's explains the notes since the wrong one.
        let mut notes = Vec::new();
        for q in [0.0, 0.5, 1.5, 2.0, 3.0, 3.5, 4.5] {
            notes.extend([(60u8, q), (72, q)]);
        }
        for q in [5.0, 6.0] {
            notes.extend([(53u8, q), (60, q), (69, q), (72, q)]);
        }
        let s = beats(&notes);
        // Times from a performance (seconds), the first octave a wrong 70.
        let perf = [
            (70u8, 0.008),
            (72, 0.504),
            (60, 0.541),
            (72, 1.295),
            (60, 1.331),
            (72, 1.732),
            (60, 1.770),
            (72, 2.533),
            (60, 2.567),
            (72, 2.975),
            (60, 3.0),
            (72, 3.822),
            (60, 3.861),
            (72, 4.505),
            (69, 4.565),
            (60, 4.584),
            (53, 4.617),
            (72, 5.305),
            (69, 5.363),
            (60, 5.373),
            (53, 5.383),
        ];
        let steps = follow(&s, &perf);
        let got = final_matches(&steps);
        let place = |m: Option<usize>| m.map(|i| (s.notes()[i].pitch, s.notes()[i].onset_q));
        let want_q = [
            0.5, 0.5, 1.5, 1.5, 2.0, 2.0, 3.0, 3.0, 3.5, 3.5, 4.5, 4.5, 5.0, 5.0, 5.0, 5.0,
        ];
        for (k, q) in want_q.iter().enumerate() {
            assert_eq!(
                place(got[k + 1]),
                Some((perf[k + 1].0, *q)),
                "note {}",
                k + 1
            );
        }
    }

    #[test]
    fn a_restart_prefers_the_near_copy_of_a_repeated_motif() {
        // Twelve bars of eighths; a six-note motif off the beat in bar 2
        // and again, on the downbeat, in bar 9 (far ahead of bar 3).
        let motif = [95u8, 97, 99, 100, 98, 96];
        let pitches: Vec<u8> = (0..96)
            .map(|i: usize| match i {
                10..=15 => motif[i - 10],
                64..=69 => motif[i - 64],
                _ => 30 + ((i * 37) % 61) as u8,
            })
            .collect();
        let s = eighths(pitches.iter());
        // Bars 1–3, then back to the motif in bar 2 and on. The copies tie
        // on the notes; bar 9's starts a bar, but the near one is the jump.
        let mut perf = play(&s, 0, 24, 0.0, 0.5);
        perf.extend(play(&s, 10, s.len(), 12.5, 0.5));
        let steps = follow(&s, &perf);
        let jump = steps.iter().position(|s| s.jumped).unwrap();
        let bar = steps[jump].position.unwrap().bar;
        assert_eq!(bar, 2, "jumped to bar {bar} on note {jump}");
    }

    #[test]
    fn a_chord_after_an_unplayed_group_is_moved_on_by_its_other_notes() {
        // Beat 2 and beat 3 share two pitches; beat 3 adds a 72.
        let s = beats(&[
            (60, 0.0),
            (64, 1.0),
            (67, 1.0),
            (64, 2.0),
            (67, 2.0),
            (72, 2.0),
            (60, 3.0),
        ]);
        // Beat 2 left out: beat 3's first notes fit beat 2, late; its 72
        // says whose chord it is.
        let perf = [(60u8, 0.0), (64, 1.0), (67, 1.01), (72, 1.02), (60, 1.5)];
        let steps = follow(&s, &perf);
        let onsets: Vec<Option<f64>> = final_matches(&steps)
            .iter()
            .map(|n| n.map(|n| s.notes()[n].onset_q))
            .collect();
        assert_eq!(onsets, [0.0, 2.0, 2.0, 2.0, 3.0].map(Some).to_vec());
        assert_eq!(steps[3].position.unwrap().score_q, 2.0);
    }

    #[test]
    fn a_chord_after_its_pickup_played_wrong_is_moved_on() {
        // A chord, a single pickup (67) half a beat later, then a chord
        // holding 67 again. The pickup is played wrong (68, early); the
        // chord then comes a little before its time, its 67 first: that
        // fits the pickup, but the pickup was played (wrong) already.
        let s = beats(&[
            (48, 0.0),
            (52, 0.0),
            (58, 0.0),
            (67, 0.5),
            (48, 1.0),
            (52, 1.0),
            (58, 1.0),
            (67, 1.0),
            (72, 1.0),
            (41, 2.0),
        ]);
        let idx = |p: u8, q: f64| {
            s.notes()
                .iter()
                .position(|n| n.pitch == p && (n.onset_q - q).abs() < 1e-9)
                .unwrap()
        };
        let perf = [
            (48, 0.0),
            (52, 0.005),
            (58, 0.01),
            (68, 0.1),
            (67, 0.33),
            (52, 0.332),
            (58, 0.334),
            (48, 0.336),
            (72, 0.338),
            (41, 0.83),
        ];
        let got = final_matches(&follow(&s, &perf));
        assert_eq!(got[3], None);
        for (k, &(p, _)) in perf.iter().enumerate().take(9).skip(4) {
            assert_eq!(got[k], Some(idx(p, 1.0)), "note {k}");
        }
    }

    #[test]
    fn refuses_bad_input() {
        let s = tune();
        let mut f = Follower::new(s.clone(), FollowConfig::default()).unwrap();
        assert!(f.push(60, f64::NAN, 64).is_err());
        assert!(f.push(200, 0.0, 64).is_err());
        let cfg = FollowConfig {
            window: 0,
            ..FollowConfig::default()
        };
        assert!(Follower::new(s, cfg).is_err());
    }

    /// Chords a quarter apart over a repeated E (64), each with two pitches
    /// of its own.
    fn pedal_chords(n: usize) -> Score {
        let mut notes = Vec::new();
        for k in 0..n {
            let q = k as f64;
            for p in [50 + k as u8, 64, 70 + k as u8] {
                notes.push(ScoreNote::simple(p, q, 1.0));
            }
        }
        Score::new(notes).unwrap()
    }

    #[test]
    fn a_track_one_group_ahead_is_pulled_back() {
        // The performer's own extra E before the first chord takes the
        // first group's E; the chord's E then goes to the next group, and
        // the chord's other notes, matching nothing there, would be extra —
        // and so on for every chord (the E recurs in each). The chord's
        // other notes fit the group just behind: the position goes back.
        let s = pedal_chords(10);
        let mut perf = vec![(64u8, -0.2)];
        for k in 0..10u8 {
            let t = f64::from(k) * 0.5;
            perf.push((64, t));
            perf.push((50 + k, t + 0.02));
            perf.push((70 + k, t + 0.03));
        }
        let fin = final_matches(&follow(&s, &perf));
        for k in 0..10 {
            assert_eq!(fin[1 + 3 * k], Some(3 * k + 1), "chord {k}'s E");
            assert_eq!(fin[2 + 3 * k], Some(3 * k), "chord {k}'s bass");
            assert_eq!(fin[3 + 3 * k], Some(3 * k + 2), "chord {k}'s top");
        }
    }

    #[test]
    fn an_octave_after_one_played_wrong_is_the_next_one() {
        // Repeated octaves; the one at 2.5 played wrong (both notes a
        // semitone or two off), then the next one a little early. Timing
        // alone puts it on the octave played wrong (late for it, early for
        // its own); it is the next one's, and the track goes on from there.
        let qs = [0.0, 1.0, 2.0, 2.5, 3.5, 4.5, 5.5];
        let notes: Vec<(u8, f64)> = qs.iter().flat_map(|&q| [(60, q), (72, q)]).collect();
        let s = beats(&notes);
        let perf = [
            (60, 0.0),
            (72, 0.01),
            (60, 0.8),
            (72, 0.81),
            (60, 1.6),
            (72, 1.61),
            (71, 2.0),
            (62, 2.01),
            (60, 2.45),
            (72, 2.46),
            (60, 3.05),
            (72, 3.06),
            (60, 3.65),
            (72, 3.66),
        ];
        let fin = final_matches(&follow(&s, &perf));
        let q = |k: usize| fin[k].map(|n| s.notes()[n].onset_q);
        assert_eq!((q(6), q(7)), (None, None));
        for (k, &want) in [3.5, 3.5, 4.5, 4.5, 5.5, 5.5].iter().enumerate() {
            assert_eq!(q(8 + k), Some(want), "note {}", 8 + k);
        }
    }

    #[test]
    fn a_chord_repeated_after_a_late_note_is_not_pulled_back() {
        // The chord on beat 3 comes again on beat 4, a single G between
        // them. The G comes late, just before beat 4's chord, which then
        // looks early for it (its notes extra); the first chord, played
        // without its E, could take them again — but beat 4 explains them
        // as well: the track was right, and goes on there.
        let mut notes = vec![
            (60, 0.0),
            (64, 0.0),
            (62, 1.0),
            (65, 1.0),
            (64, 2.0),
            (67, 2.0),
        ];
        for (p, q) in [(48, 3.0), (52, 3.0), (58, 3.0), (67, 3.5)] {
            notes.push((p, q));
        }
        for (p, q) in [
            (48, 4.0),
            (52, 4.0),
            (58, 4.0),
            (39, 5.0),
            (67, 5.0),
            (72, 5.0),
        ] {
            notes.push((p, q));
        }
        notes.extend([(60, 6.0), (64, 6.0)]);
        let s = beats(&notes);
        let spq = 0.46;
        let perf = [
            (60, 0.0),
            (64, 0.01),
            (62, spq),
            (65, spq + 0.01),
            (64, 2.0 * spq),
            (67, 2.0 * spq + 0.01),
            (58, 3.0 * spq),
            (48, 3.0 * spq + 0.01),
            (67, 4.0 * spq - 0.02),
            (58, 4.0 * spq),
            (48, 4.0 * spq + 0.006),
            (52, 4.0 * spq + 0.09),
            (72, 5.0 * spq),
            (67, 5.0 * spq + 0.01),
            (39, 5.0 * spq + 0.02),
            (60, 6.0 * spq),
            (64, 6.0 * spq + 0.01),
        ];
        let fin = final_matches(&follow(&s, &perf));
        let q = |k: usize| fin[k].map(|n| s.notes()[n].onset_q);
        for k in 9..12 {
            assert_eq!(q(k), Some(4.0), "note {k}");
        }
        for k in 12..15 {
            assert_eq!(q(k), Some(5.0), "note {k}");
        }
    }

    /// The chord of `slow_chord_then_line` struck as a block with its E
    /// wrong (63), then wrong notes on the first two sixteenths' beats.
    const WRONG_AFTER_BLOCK_CHORD: [(u8, f64); 6] = [
        (48, 0.0),
        (60, 0.005),
        (63, 0.01),
        (67, 0.015),
        (73, 0.5),
        (70, 1.0),
    ];

    /// Slow music (two seconds a quarter): a chord, then sixteenths.
    fn slow_chord_then_line(line: &[u8]) -> Score {
        let mut notes: Vec<ScoreNote> = [48u8, 60, 64, 67]
            .iter()
            .map(|&p| ScoreNote::simple(p, 0.0, 0.25))
            .collect();
        for (k, &p) in line.iter().enumerate() {
            notes.push(ScoreNote::simple(p, 0.25 * (k + 1) as f64, 0.25));
        }
        for n in &mut notes {
            n.onset_s = n.onset_q * 2.0;
            n.duration_s = n.duration_q * 2.0;
        }
        Score::new(notes).unwrap()
    }

    #[test]
    fn wrong_notes_after_a_block_chord_are_placed_on_their_beats() {
        // The chord is struck as a block with its E wrong: it is not being
        // rolled, so the wrong sixteenths after it, each on its beat (half a
        // second apart, a quarter being two seconds), are placed there and
        // not on the chord.
        let s = slow_chord_then_line(&[71, 69, 71, 72, 74]);
        let steps = follow(&s, &WRONG_AFTER_BLOCK_CHORD);
        assert_eq!(steps[2].score_note, None);
        assert_eq!(steps[4].score_note, None);
        assert_eq!(steps[4].position.unwrap().group, 1);
        assert_eq!(steps[5].position.unwrap().group, 2);
    }

    #[test]
    fn a_chord_struck_with_a_wrong_note_is_not_rolled_on() {
        // Slow sixteenths (two seconds a quarter): C, then [C3 E], F, C3.
        let mut notes: Vec<ScoreNote> =
            [(60u8, 0.0), (48, 0.25), (64, 0.25), (65, 0.5), (48, 0.75)]
                .iter()
                .map(|&(p, q)| ScoreNote::simple(p, q, 0.25))
                .collect();
        for n in &mut notes {
            n.onset_s = n.onset_q * 2.0;
            n.duration_s = n.duration_q * 2.0;
        }
        let s = Score::new(notes).unwrap();
        // The chord struck as a block with its C3 wrong (46): it is not
        // being rolled, so the wrong F on its beat is placed there, and the
        // C3 on the last beat is that one, not the chord's, late.
        // (The wrong note first or second.)
        for (a, b) in [((64, 0.5), (46, 0.505)), ((46, 0.5), (64, 0.505))] {
            let steps = follow(&s, &[(60, 0.0), a, b, (66, 1.0), (48, 1.5)]);
            assert_eq!(steps[3].score_note, None);
            assert_eq!(steps[3].position.unwrap().group, 2);
            assert_eq!(steps[4].score_note, Some(4));
        }
    }

    #[test]
    fn a_pitch_of_a_group_gone_past_is_the_later_one() {
        // Wrong notes were played on the beats of the B and the A; the next
        // B, on time for its own beat, is that one — not the first B late.
        let s = slow_chord_then_line(&[71, 69, 71, 72, 74]);
        let mut perf = WRONG_AFTER_BLOCK_CHORD.to_vec();
        perf.extend([(71, 1.5), (72, 2.0)]);
        let steps = follow(&s, &perf);
        let b2 = s.groups()[3].notes[0];
        assert_eq!(steps[6].score_note, Some(b2));
        assert_eq!(steps[7].score_note, Some(s.groups()[4].notes[0]));
    }

    #[test]
    fn a_wrong_first_note_is_placed_at_the_start() {
        let s = slow_chord_then_line(&[71, 69, 71, 72, 74]);
        // The chord's bass wrong, alone, then the rest of it.
        let steps = follow(&s, &[(47, 0.0), (60, 0.01), (64, 0.012)]);
        assert_eq!(steps[0].score_note, None);
        assert_eq!(steps[0].position.unwrap().group, 0);
    }

    #[test]
    fn a_repeated_chord_replayed_is_a_restart_not_a_pull_back() {
        // Two chords, each written twice (X X Y Y), then W. The player
        // stops on the second Y's first note and starts again from the first
        // X. The replayed X X fit the groups just behind the second Y (X Y)
        // no worse than a pull-back there would say — but a restart from the
        // first X explains more of the notes: the follower waits for it.
        let (x, y, w) = ([54u8, 64, 69], [56u8, 64, 71], [57u8, 64, 73]);
        let groups: [(f64, &[u8]); 9] = [
            (0.0, &[60, 64, 67]),
            (1.0, &[62, 65, 69]),
            (2.0, &x),
            (3.0, &x),
            (3.5, &y),
            (4.5, &y),
            (5.0, &w),
            (6.0, &[59, 62, 74]),
            (7.0, &[60, 64, 76]),
        ];
        let mut notes = Vec::new();
        for &(q, ps) in &groups {
            for &p in ps {
                notes.push(ScoreNote::simple(p, q, 0.5));
            }
        }
        let s = Score::new(notes).unwrap();
        let chord = |perf: &mut Vec<(u8, f64)>, ps: &[u8], t: f64| {
            for (k, &p) in ps.iter().rev().enumerate() {
                perf.push((p, t + 0.01 * k as f64));
            }
        };
        let mut perf = Vec::new();
        for &(q, ps) in &groups[..5] {
            chord(&mut perf, ps, q);
        }
        perf.push((71, 4.5));
        let replay = perf.len();
        // Again from the first X, 0.55 s later, at the same tempo.
        for &(q, ps) in &groups[2..] {
            chord(&mut perf, ps, 5.05 + q - 2.0);
        }
        let fin = final_matches(&follow(&s, &perf));
        let first_x = s.groups()[2].notes.clone();
        let second_x = s.groups()[3].notes.clone();
        for k in 0..3 {
            let got = fin[replay + k].unwrap();
            assert!(first_x.contains(&got), "replayed first X: {got}");
            let got = fin[replay + 3 + k].unwrap();
            assert!(second_x.contains(&got), "replayed second X: {got}");
        }
    }

    #[test]
    fn wrong_pitches_do_not_make_the_next_copy_fit_better() {
        // A bar, then a copy of it with its fourth and sixth notes a
        // semitone or so off. Playing those two notes wrong in the first
        // bar gives the copy's pitches. A wrong note next to the bar's own
        // note counts for the current track: the copy, explaining the two
        // wrong notes and the one between, has too little over it to jump.
        let bars = [
            [60u8, 62, 64, 65, 67, 69, 71, 72],
            [60u8, 62, 64, 66, 67, 68, 71, 72],
        ];
        let s = eighths(bars.iter().flatten());
        let mut perf: Vec<(u8, f64)> = bars
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, &p)| (p, i as f64 * 0.25))
            .collect();
        perf[3].0 = 66;
        perf[5].0 = 68;
        let fin = final_matches(&follow(&s, &perf));
        assert_eq!(fin[3], None);
        assert_eq!(fin[5], None);
        for i in (0..16).filter(|&i| i != 3 && i != 5) {
            assert_eq!(fin[i], Some(i), "note {i}");
        }
    }
}
