from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from etude_bridge.outbox import Outbox


def item(seq: int) -> tuple[str, bytes]:
    return f"etude/a/events/{seq}", f"payload {seq}".encode()


def test_sequence_numbers_start_at_one_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    assert [box.append(item) for _ in range(3)] == [1, 2, 3]
    box.delete(1)
    box.delete(2)
    box.close()
    reopened = Outbox(path)
    assert [i.seq for i in reopened.pending()] == [3]  # the undelivered one is still there
    assert reopened.append(item) == 4  # and numbering continues, never reusing a seq
    reopened.delete(3)
    reopened.delete(4)
    reopened.close()
    assert Outbox(path).append(item) == 5  # even when the outbox was empty


def test_pending_is_ordered_and_paged(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for _ in range(10):
        box.append(item)
    assert [i.seq for i in box.pending(after_seq=3, limit=4)] == [4, 5, 6, 7]
    assert box.pending(after_seq=3, limit=1)[0].payload == b"payload 4"
    assert len(box) == 10


def test_a_failing_builder_reserves_no_sequence_number(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")

    def broken(_seq: int) -> tuple[str, bytes]:
        raise ValueError("bad event")

    with contextlib.suppress(ValueError):
        box.append(broken)
    assert box.append(item) == 1
    assert len(box) == 1


def test_appends_from_many_threads_get_distinct_numbers(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    seqs: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            seq = box.append(item)
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 201))
