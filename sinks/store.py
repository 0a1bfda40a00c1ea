"""The sink's durable memory (RocksDB via rocksdict), one store per channel under <data>/sinks/<channel>.

- ``done:<action_id>``: the recorded outcome (the records that were produced), so an action delivered
  again is acknowledged and its outcome re-emitted unchanged instead of acting twice;
- ``tries:<action_id>``: attempts already made, so a crash loop does not reset the retry budget;
- other prefixes belong to the channel handlers (round-robin cursors, document hashes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rocksdict import Rdict

from sinks.records import OutRecord


class SinkStore:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = Rdict(str(path))

    def close(self) -> None:
        self._db.close()

    # -- generic -------------------------------------------------------------------------------------

    def get_json(self, key: str) -> Any:
        raw = self._db.get(key.encode())
        return None if raw is None else orjson.loads(raw)

    def put_json(self, key: str, value: Any) -> None:
        self._db[key.encode()] = orjson.dumps(value)

    def delete(self, key: str) -> None:
        self._db.delete(key.encode())

    # -- outcomes and attempts -----------------------------------------------------------------------

    def outcome(self, action_id: str) -> list[OutRecord] | None:
        stored = self.get_json(f"done:{action_id}")
        return None if stored is None else [OutRecord.from_json(item) for item in stored]

    def record_outcome(self, action_id: str, records: list[OutRecord]) -> None:
        self.put_json(f"done:{action_id}", [record.to_json() for record in records])
        self._db.delete(f"tries:{action_id}".encode())

    def attempts_made(self, action_id: str) -> int:
        value = self.get_json(f"tries:{action_id}")
        return value if isinstance(value, int) else 0

    def record_attempt(self, action_id: str, attempt: int) -> None:
        self.put_json(f"tries:{action_id}", attempt)
