"""Builders and hypothesis strategies shared by the condition and template tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from engine.conditions import FUNCTIONS, Scope
from engine.profile import new_profile
from engine.types import Event, Profile

# Monday 2 February 2026, 14:30:00 UTC.
NOW = int(datetime(2026, 2, 2, 14, 30, tzinfo=UTC).timestamp() * 1000)


def ms(text: str) -> int:
    """Epoch ms of an ISO datetime written in the test (UTC when no offset)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def make_profile(
    attrs: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    counts: dict[str, int] | None = None,
    last_by_type: dict[str, int] | None = None,
    scores: dict[str, float] | None = None,
    first_seen: int = 0,
    last_seen: int = 0,
) -> Profile:
    profile = new_profile()
    profile["attrs"] = dict(attrs or {})
    profile["tags"] = sorted(tags or [])
    profile["counts"] = dict(counts or {})
    profile["last_by_type"] = dict(last_by_type or {})
    profile["scores"] = dict(scores or {})
    profile["first_seen"] = first_seen
    profile["last_seen"] = last_seen
    return profile


def make_event(
    event_type: str = "page.viewed", ts: int = NOW, contact_id: str = "c-1", **properties: Any
) -> Event:
    return {"event_id": f"e-{event_type}-{ts}", "contact_id": contact_id, "type": event_type, "ts": ts,
            "properties": properties}  # fmt: skip


def make_scope(
    profile: Profile | None = None,
    event: Event | None = None,
    run: dict[str, Any] | None = None,
    now: int = NOW,
    workflows: frozenset[str] = frozenset(),
    contact_id: str | None = None,
) -> Scope:
    return Scope(
        contact=profile if profile is not None else make_profile(),
        event=event,
        run=run,
        now=now,
        workflows=workflows,
        contact_id=contact_id,
    )


# A contact used across tests: a pro customer who reads most emails.
SAMPLE_PROFILE = make_profile(
    attrs={"first_name": "Ada", "plan": "pro", "age": "42", "timezone": "America/New_York",
           "renewal_date": "2026-02-03", "country": "FR", "company": {"name": "Acme", "size": 40}},
    tags=["vip", "newsletter"],
    counts={"email.sent": 10, "email.opened": 7, "email.clicked": 3, "email.replied": 1, "page.viewed": 12,
            "purchase": 2},
    last_by_type={"purchase": ms("2026-01-20T10:00:00"), "email.opened": ms("2026-02-01T08:00:00")},
    scores={"churn_risk": 0.82, "likely_to_convert": 0.35},
    first_seen=ms("2025-06-01T00:00:00"),
    last_seen=ms("2025-12-15T00:00:00"),
)  # fmt: skip

# -- hypothesis strategies ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2026-01-31", "2026-01-31T09:30:00Z", "42", "0.5", "vip", "Europe/Paris", "Mars/Base"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["vip", "plan", "url", "x", "timezone", "email.sent", "0"]), children,
                        max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip
profile_keys = st.sampled_from(
    ["attrs", "tags", "counts", "last_by_type", "scores", "first_seen", "last_seen"]
)


@st.composite
def random_profiles(draw: st.DrawFn) -> Any:
    """Anything from a well-formed profile with odd values to an arbitrary value in the contact slot."""
    if draw(st.booleans()):
        return draw(json_values)
    return draw(st.dictionaries(profile_keys, json_values, max_size=7))


@st.composite
def random_scopes(draw: st.DrawFn) -> Scope:
    return Scope(
        contact=draw(random_profiles()),
        event=draw(st.one_of(st.none(), json_values)),
        run=draw(st.one_of(st.none(), json_values)),
        now=draw(st.integers(min_value=-(2**64), max_value=2**64)),  # event time: always an int (Scope.now)
        workflows=draw(st.frozensets(st.sampled_from(["welcome", "winback", "x"]))),
        contact_id=draw(st.one_of(st.none(), st.text(max_size=5))),
    )


# Condition text built from the grammar, so the property tests exercise every construct.
_paths = st.sampled_from([
    "contact.plan", "contact.tags", "contact.scores.churn_risk", "contact.open_rate", "contact.id",
    "contact.attrs.timezone", "contact.counts['email.sent']", "contact.tags[0]", "contact.company.size",
    "event.type", "event.ts", "event.url", "event.properties.amount", "run.vars.cart_id", "run.started_at",
    "now", "contact", "event", "run", "contact.last_seen", "contact.renewal_date",
])  # fmt: skip
_literals = st.sampled_from([
    "0", "1", "-3", "2.5", "70%", "30d", "1d12h", "'vip'", '"pricing"', "''", "true", "false", "null",
    "[1, 2]", "['a', 'vip']", "[]", "'2026-01-31'", "'42'",
])  # fmt: skip
_binary_ops = st.sampled_from(
    ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "in", "not in", "contains", "not contains",
     "and", "or"]
)  # fmt: skip


def _call(name: str, arguments: list[str]) -> str:
    spec = FUNCTIONS[name]
    return f"{name}({', '.join(arguments[: max(spec.min_args, min(len(arguments), spec.max_args))])})"


@st.composite
def _calls(draw: st.DrawFn, argument: st.SearchStrategy[str]) -> str:
    name = draw(st.sampled_from(sorted(FUNCTIONS)))
    arguments = draw(st.lists(argument, min_size=FUNCTIONS[name].min_args, max_size=3))
    return _call(name, arguments)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, _binary_ops, inner).map(lambda parts: f"({parts[0]}) {parts[1]} ({parts[2]})"),
        inner.map(lambda text: f"not {text}"),
        inner.map(lambda text: f"-({text})"),
        inner.map(lambda text: f"({text})"),
        inner.map(lambda text: f"{text} exists"),
        inner.map(lambda text: f"{text} not exists"),
        inner.map(lambda text: f"{text} matches '^a.*'"),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        _calls(inner),
    )


expressions = st.recursive(st.one_of(_paths, _literals), _extend, max_leaves=8)
