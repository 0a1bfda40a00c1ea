"""The timer service's in-memory queue of live timers: due ones come out in order, cancellation is exact,
and nothing ever walks the whole queue.

Timers due within ``near_ms`` of the clock wait in a heap ordered by (due, token); later ones wait in
buckets of ``bucket_ms`` (a dict per bucket), and a bucket moves into the heap when the clock comes within
``near_ms`` of it. Cancelling a far timer deletes it at once; most cancellations are of far timers (a
model's wake-up days away, moved by the contact's new activity). A cancelled near timer's heap entry stays
until it comes due and is then skipped, so the heap holds at most the cancellations of ``near_ms`` as
garbage. There is no index of all timers: a timer is cancelled by its (due, token), which finds its
bucket, and only the near ones are kept by token (a dict of millions with this churn rebuilds itself in
one go every so often: 60 ms per million).

The single heap this replaces kept every cancelled entry until cancelled ones outnumbered live ones, then
rebuilt itself in one pass on the event loop: 166 ms per million entries, a stall of seconds for a worker
holding millions of contacts' wake-ups.
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

NEAR_MS = 10 * 60_000
BUCKET_MS = 60_000


class Timer(NamedTuple):
    due: int  # epoch ms
    token: str
    contact_id: str
    kind: str
    partition: int = -1  # of events: where the contact's state is, and so where its wake-up goes


# Held as plain tuples: the collector stops tracking a tuple of strings and ints, not a NamedTuple, and a
# worker holds a timer per contact that every full collection would otherwise walk.
Entry = tuple[int, str, str, str, int]  # a Timer's fields


class TimerQueue:
    """A token is live at one due time at a time: to move a timer, cancel it and add it again."""

    def __init__(self, now_ms: int, near_ms: int = NEAR_MS, bucket_ms: int = BUCKET_MS) -> None:
        if near_ms < 0 or bucket_ms <= 0:
            raise ValueError("near_ms must not be negative and bucket_ms must be positive")
        self.near_ms, self.bucket_ms = near_ms, bucket_ms
        self._near: list[Entry] = []  # a heap; an entry whose token is not live at its due is garbage
        self._near_due: dict[str, int] = {}  # the live near timers: token -> due
        self._far: dict[int, dict[str, Entry]] = {}  # bucket number -> token -> timer
        self._far_count = 0
        self._far_order: list[int] = []  # a heap of the bucket numbers that have (or had) a bucket
        self._ordered: set[int] = set()  # the numbers in _far_order
        self._reach = (now_ms + near_ms) // bucket_ms  # buckets up to this number are in the heap

    def __len__(self) -> int:
        return len(self._near_due) + self._far_count

    @property
    def entries(self) -> int:
        """Entries held, garbage included (live timers + cancelled near entries not yet due)."""
        return len(self._near) + self._far_count

    def add(self, timer: Timer) -> bool:
        """Queue ``timer``. False: it is queued already."""
        due, token = timer.due, timer.token
        entry: Entry = (due, token, timer.contact_id, timer.kind, timer.partition)
        number = due // self.bucket_ms
        if number <= self._reach:
            if self._near_due.get(token) == due:
                return False
            self._near_due[token] = due
            heapq.heappush(self._near, entry)
            return True
        bucket = self._far.get(number)
        if bucket is None:
            bucket = self._far[number] = {}
            if number not in self._ordered:
                self._ordered.add(number)
                heapq.heappush(self._far_order, number)
        elif token in bucket:
            return False
        bucket[token] = entry
        self._far_count += 1
        return True

    def cancel(self, due: int, token: str) -> bool:
        """The timer will not come out. False: it is not queued."""
        if self._near_due.get(token) == due:
            del self._near_due[token]
            return True
        number = due // self.bucket_ms
        bucket = self._far.get(number)
        if bucket is None or bucket.pop(token, None) is None:
            return False
        self._far_count -= 1
        if not bucket:
            del self._far[number]
        return True

    def pop_due(self, now_ms: int) -> Timer | None:
        """The earliest live timer due at ``now_ms``, removed from the queue; None when none is due."""
        self._advance(now_ms)
        near, live = self._near, self._near_due
        while near and near[0][0] <= now_ms:
            entry = heapq.heappop(near)
            if live.get(entry[1]) == entry[0]:
                del live[entry[1]]
                return Timer(*entry)
        return None

    def _advance(self, now_ms: int) -> None:
        """Move the buckets now within ``near_ms`` into the heap."""
        reach = (now_ms + self.near_ms) // self.bucket_ms
        if reach <= self._reach:
            return
        self._reach = reach
        order = self._far_order
        while order and order[0] <= reach:
            number = heapq.heappop(order)
            self._ordered.discard(number)
            bucket = self._far.pop(number, None)
            if bucket is None:
                continue
            self._far_count -= len(bucket)
            for entry in bucket.values():
                self._near_due[entry[1]] = entry[0]
                heapq.heappush(self._near, entry)
