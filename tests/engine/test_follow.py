"""The online score follower (``ScoreFollower``): small cases, then one real performance.

Small cases: a two-hand piece (right-hand quarter notes, left-hand half notes, 4 bars of 4/4)
played in order, with a wrong note, restarted from an earlier bar, skipping ahead, and with a
pause. The real case follows a Vienna 4x22 performance note by note against its ground truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from etude_engine import FollowStep, InvalidPerformanceError, Score, ScoreFollower
from etude_engine.scores import load_score
from support.midi import VIENNA

DATA = VIENNA  # ../shared beside the project, as in CI (see tests/support)

MELODY = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 83, 79, 76, 72]
BASS = [48, 55, 53, 55, 48, 55, 43, 48]

Note = tuple[int, float, int]  # pitch, onset quarters, index in the score


def piece() -> tuple[Score, list[Note]]:
    notes = [(p, float(i), i) for i, p in enumerate(MELODY)]
    notes += [(p, 2.0 * i, len(MELODY) + i) for i, p in enumerate(BASS)]
    n = len(notes)
    pitch = [p for p, _, _ in notes]
    q = [q for _, q, _ in notes]
    dur = [1.0] * len(MELODY) + [2.0] * len(BASS)
    score = Score(
        pitch,
        q,
        dur,
        [x * 0.5 for x in q],
        [d * 0.5 for d in dur],
        [1 + int(x // 4) for x in q],
        [1 + x % 4 for x in q],
        [0] * len(MELODY) + [1] * len(BASS),
        [1] * n,
        [False] * n,
        [False] * n,
        [float("nan")] * n,
    )
    return score, sorted(notes, key=lambda x: (x[1], x[0]))


def play(notes: list[Note], q_from: float, q_to: float, t0: float, spq: float) -> list[Note]:
    """The notes from q_from (incl.) to q_to (excl.), as (pitch, seconds, score index)."""
    return [(p, t0 + (q - q_from) * spq, i) for p, q, i in notes if q_from <= q < q_to]


def follow(score: Score, perf: list[Note]) -> list[FollowStep]:
    f = ScoreFollower(score)
    return [f.push(p, t, 70) for p, t, _ in perf]


def test_in_order_playing_follows_every_note() -> None:
    score, notes = piece()
    perf = play(notes, 0, 16, 1.0, 0.45)
    steps = follow(score, perf)
    assert [s.score_note for s in steps] == [i for _, _, i in perf]
    assert all(s.label == "match" for s in steps)
    last = steps[-1]
    assert (last.bar, last.beat, last.score_q) == (4, 4.0, 15.0)
    assert last.qpm == pytest.approx(60 / 0.45, rel=0.05)


def test_wrong_note_is_extra_and_placed_on_its_beat() -> None:
    score, notes = piece()
    perf = play(notes, 0, 16, 0.0, 0.5)
    k = next(j for j, (_, _, i) in enumerate(perf) if i == 5)  # melody note 5 (77)
    perf[k] = (66, perf[k][1], -1)
    steps = follow(score, perf)
    assert steps[k].label == "extra" and steps[k].score_note is None
    assert steps[k].score_q == 5.0  # where it was played (beat 2 of bar 2), not matched
    assert [s.score_note for s in steps[k + 1 :]] == [i for _, _, i in perf[k + 1 :]]


def test_restart_from_an_earlier_bar() -> None:
    score, notes = piece()
    # Bars 1-3, then back to bar 2 and on to the end.
    perf = play(notes, 0, 12, 0.0, 0.5) + play(notes, 4, 16, 6.5, 0.5)
    steps = follow(score, perf)
    restart = len(play(notes, 0, 12, 0.0, 0.5))
    jumps = [k for k, s in enumerate(steps) if s.jumped]
    assert jumps and restart <= jumps[0] <= restart + 3
    # Notes before the jump are revised onto the restarted bar; all after are matched.
    final = [s.score_note for s in steps]
    for k, note in steps[jumps[0]].revised:
        final[k] = note
    assert final[restart:] == [i for _, _, i in perf[restart:]]
    assert steps[-1].bar == 4


def test_skip_ahead() -> None:
    score, notes = piece()
    perf = play(notes, 0, 4, 0.0, 0.5) + play(notes, 10, 16, 2.0, 0.5)
    steps = follow(score, perf)
    first = len(play(notes, 0, 4, 0.0, 0.5))
    jump = next(k for k, s in enumerate(steps) if s.jumped)
    assert jump <= first + 4
    assert [s.score_note for s in steps[jump:]] == [i for _, _, i in perf[jump:]]


def test_pause_then_resume_where_it_stopped() -> None:
    score, notes = piece()
    perf = play(notes, 0, 6, 0.0, 0.5) + play(notes, 6, 16, 30.0, 0.5)
    steps = follow(score, perf)
    assert [s.score_note for s in steps] == [i for _, _, i in perf]
    assert not any(s.jumped for s in steps)


def test_state_reset_and_bad_input() -> None:
    score, _ = piece()
    f = ScoreFollower(score)
    assert f.position is None and f.notes_seen == 0
    f.push(72, 0.0)
    assert f.position == (1, 1.0, 0.0)
    f.reset()
    assert f.position is None and f.notes_seen == 0
    with pytest.raises(InvalidPerformanceError):
        f.push(128, 0.0)
    with pytest.raises(InvalidPerformanceError):
        f.push(60, float("nan"))
    assert "ScoreFollower" in repr(f)


def test_real_performance_positions() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import partitura as pt

    name = "Schubert_D783_no15"
    sd = load_score(DATA / "musicxml" / f"{name}.musicxml")
    q_of = dict(zip(sd.ids, sd.onset_q.tolist(), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        perf, gt = pt.load_match(str(DATA / "match" / f"{name}_p03.match"))
    pn = perf.note_array()
    matched = {a["performance_id"]: a["score_id"] for a in gt if a["label"] == "match"}
    order = np.lexsort((pn["pitch"], pn["onset_sec"]))
    f = ScoreFollower(sd.model)
    right = total = 0
    for i in order:
        step = f.push(int(pn["pitch"][i]), float(pn["onset_sec"][i]), int(pn["velocity"][i]))
        sid = matched.get(pn["id"][i])
        if sid is None:
            continue  # insertions: scored by the bench (within a beat)
        total += 1
        right += step.score_q is not None and abs(step.score_q - q_of[sid]) < 1e-6
    assert total > 250
    assert right / total >= 0.95
