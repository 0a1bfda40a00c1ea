"""Teams and fair round-robin assignment. The cursor of each team lives in the channel's RocksDB store,
so assignment stays fair across restarts; the member chosen for an action is stored with it, so an
action retried or delivered again is assigned to the same person."""

from __future__ import annotations

from collections.abc import Mapping

from sinks.exceptions import PermanentFailure
from sinks.store import SinkStore


def team_members(teams: Mapping[str, tuple[str, ...]], team: str) -> tuple[str, ...]:
    members = teams.get(team)
    if not members:
        known = ", ".join(sorted(teams)) or "none configured (SWITCHYARD_TEAMS)"
        raise PermanentFailure(f"unknown team {team!r}; teams: {known}")
    return members


class RoundRobin:
    def __init__(self, teams: Mapping[str, tuple[str, ...]], store: SinkStore) -> None:
        self.teams = teams
        self.store = store

    def assign(self, team: str, action_id: str) -> str:
        chosen = self.store.get_json(f"assigned:{action_id}")
        if isinstance(chosen, str):
            return chosen
        members = team_members(self.teams, team)
        cursor = self.store.get_json(f"rr:{team}")
        cursor = cursor if isinstance(cursor, int) else 0
        member = members[cursor % len(members)]
        self.store.put_json(f"assigned:{action_id}", member)
        self.store.put_json(f"rr:{team}", cursor + 1)
        return member
