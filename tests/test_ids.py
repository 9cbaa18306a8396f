"""node.ids: ids stay unique, and the clock's monotonic, whatever the order of calls (a backdated
`new_id(at_ms)` once reset the sequence, so the next clock ids in the same millisecond repeated)."""

import time

from node.ids import new_id


def test_backdated_ids_never_repeat_nor_move_the_clock_ids_back():
    now = int(time.time() * 1000)
    past = now - 86_400_000
    issued = []
    clock = []
    for i in range(3000):
        if i % 3 == 0:
            issued.append(new_id(past + i % 7))  # a few milliseconds, each asked for many times
        else:
            clock.append(new_id())
            issued.append(clock[-1])
    assert len(set(issued)) == len(issued)
    assert clock == sorted(clock) and len(set(clock)) == len(clock)
    assert all(past <= (i >> 16) < past + 7 for i in issued if i not in set(clock))
    assert all((i >> 16) >= now for i in clock)


def test_ids_for_a_future_time_keep_the_clock_monotonic():
    ahead = int(time.time() * 1000) + 60_000
    first = new_id(ahead)
    assert first >> 16 == ahead
    after = [new_id() for _ in range(2000)]  # more than one millisecond's 1,024 sequence numbers
    assert first < after[0] and after == sorted(set(after))
