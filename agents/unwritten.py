"""What the processor has computed but not yet written: contacts' new states and each partition's highest
computed offset.

A batch's states may be written only once its effects are in Kafka (agents/processor.py says why). The
processor computes the next batch while those effects travel, so that batch must read its contacts'
states and the partitions' progress here first: the stored ones are a batch behind. An entry leaves
when the batch that staged it writes it, unless a later batch has staged a newer one meanwhile.
"""

from __future__ import annotations


class Unwritten:
    def __init__(self) -> None:
        self.states: dict[str, bytes] = {}  # contact id -> encoded state
        self.offsets: dict[int, int] = {}  # partition -> highest offset computed

    def stage(self, contact_id: str, encoded: bytes) -> None:
        self.states[contact_id] = encoded

    def stage_offset(self, partition: int, offset: int) -> None:
        if offset > self.offsets.get(partition, -1):
            self.offsets[partition] = offset

    def state_written(self, contact_id: str, encoded: bytes) -> None:
        if self.states.get(contact_id) is encoded:  # identity: a later batch's state stays
            del self.states[contact_id]

    def offset_written(self, partition: int, stored: int) -> None:
        if self.offsets.get(partition, stored + 1) <= stored:
            del self.offsets[partition]

    def progress(self, partition: int, stored: int | None) -> int | None:
        """The partition's highest offset computed, written or not (None: none yet)."""
        computed = self.offsets.get(partition)
        if computed is None:
            return stored
        return computed if stored is None else max(stored, computed)

    def clear(self) -> None:
        self.states.clear()
        self.offsets.clear()
