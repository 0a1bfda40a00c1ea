"""Inbound webhook sources: how each is verified and how its payloads map to events (pure: no I/O
but reading the configuration file once at start-up).

A YAML file (``SWITCHYARD_HOOKS``) names the sources; examples/hooks/sources.yaml is a worked example:

    sources:
      shop:                                  # POST /v1/hooks/shop
        secret_env: SHOP_WEBHOOK_SECRET      # the secret is read from this variable (several: rotation)
        signature: standard-webhooks         # or {scheme: hmac-sha256, header: X-Signature,
                                             #     encoding: hex|base64, prefix: "sha256="}
        events:                              # the first entry whose `when` holds maps the payload
          - when: "type == 'checkout.session.completed'"
            type: purchase                   # a literal type, or `type_path:` to read it from the payload
            contact_id: "data.object.client_reference_id || data.object.customer"
            event_id: "id"                   # optional: else the webhook-id header, else a body hash
            ts: "created"                    # optional: else the time of receipt
            ts_unit: s                       # s or ms, for a numeric ts
            properties:
              amount: "data.object.amount_total"

Every expression is JMESPath (no code runs). A payload no entry maps, or whose mapped fields are missing,
is refused as `unmapped` / `unmappable`; a request whose signature does not verify as `unsigned` or
`bad_signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from standardwebhooks.webhooks import Webhook

from agents.api.exceptions import ApiConfigError
from engine.events import Malformed

STANDARD_WEBHOOKS = "standard-webhooks"
HMAC_SHA256 = "hmac-sha256"


@dataclass(frozen=True)
class Signature:
    scheme: str
    header: str = ""
    encoding: str = "hex"
    prefix: str = ""


@dataclass(frozen=True)
class EventMapping:
    when: ParsedResult | None
    contact_id: ParsedResult
    type: str | None
    type_path: ParsedResult | None
    event_id: ParsedResult | None
    ts: ParsedResult | None
    ts_unit: str
    properties: dict[str, ParsedResult] = field(default_factory=dict)


@dataclass(frozen=True)
class HookSource:
    name: str
    secrets: tuple[str, ...]
    signature: Signature
    mappings: tuple[EventMapping, ...]


def verified(source: HookSource, body: bytes, headers: Mapping[str, str]) -> Malformed | None:
    """None when `body` carries a valid signature under one of the source's secrets."""
    scheme = source.signature
    if scheme.scheme == STANDARD_WEBHOOKS:
        if not headers.get("webhook-signature"):
            return Malformed("unsigned", "no webhook-signature header")
        for secret in source.secrets:
            try:
                Webhook(secret).verify(body, dict(headers), json_parse=False)
                return None
            except Exception:  # malformed or wrong: a verifier answers only yes or no
                continue
        return Malformed("bad_signature", "the signature does not verify")
    given = headers.get(scheme.header)
    if not given:
        return Malformed("unsigned", f"no {scheme.header} header")
    for secret in source.secrets:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
        if hmac.compare_digest(given.strip().encode(), (scheme.prefix + text).encode()):
            return None
    return Malformed("bad_signature", "the signature does not verify")


def map_payload(
    source: HookSource, payload: Any, fallback_id: str, received_ms: int
) -> dict[str, Any] | Malformed:
    """The event document a verified payload stands for (still to be checked against the contract)."""
    chosen = next((m for m in source.mappings if m.when is None or _truthy(m.when.search(payload))), None)
    if chosen is None:
        return Malformed("unmapped", f"no mapping of source {source.name!r} matches this payload")
    contact = chosen.contact_id.search(payload)
    if not isinstance(contact, str | int) or isinstance(contact, bool) or str(contact) == "":
        return Malformed("unmappable", "contact_id is missing in the payload")
    etype = chosen.type if chosen.type_path is None else chosen.type_path.search(payload)
    if not isinstance(etype, str) or not etype:
        return Malformed("unmappable", "type is missing in the payload")
    event_id = chosen.event_id.search(payload) if chosen.event_id is not None else None
    ts: Any = chosen.ts.search(payload) if chosen.ts is not None else None
    if isinstance(ts, int | float) and not isinstance(ts, bool) and chosen.ts_unit == "s":
        ts = int(ts * 1000)
    properties = {name: expr.search(payload) for name, expr in chosen.properties.items()}
    return {
        "event_id": str(event_id) if isinstance(event_id, str | int) and str(event_id) else fallback_id,
        "contact_id": str(contact),
        "type": etype,
        "ts": received_ms if ts is None else ts,
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", [], {})


def load_sources(path: Path, env: Mapping[str, str]) -> dict[str, HookSource]:
    """Every source in the file; ApiConfigError naming the place of the first problem."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ApiConfigError(f"{path}: cannot read the webhook sources: {exc}") from None
    sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(sources, dict) or not sources:
        raise ApiConfigError(f"{path}: expected `sources:` with at least one source")
    return {
        str(name): _source(f"{path}: sources.{name}", str(name), spec, env) for name, spec in sources.items()
    }


def _source(where: str, name: str, spec: Any, env: Mapping[str, str]) -> HookSource:
    if not isinstance(spec, dict):
        raise ApiConfigError(f"{where}: expected a mapping")
    variable = spec.get("secret_env")
    if not isinstance(variable, str) or not env.get(variable):
        raise ApiConfigError(f"{where}.secret_env: name an environment variable that holds the secret")
    secrets = tuple(part for part in env[variable].replace(",", " ").split() if part)
    events = spec.get("events")
    if not isinstance(events, list) or not events:
        raise ApiConfigError(f"{where}.events: expected a list of mappings")
    mappings = tuple(_mapping(f"{where}.events[{i}]", entry) for i, entry in enumerate(events))
    return HookSource(name, secrets, _signature(f"{where}.signature", spec.get("signature")), mappings)


def _signature(where: str, spec: Any) -> Signature:
    if spec == STANDARD_WEBHOOKS:
        return Signature(STANDARD_WEBHOOKS)
    if isinstance(spec, dict) and spec.get("scheme") == HMAC_SHA256:
        header, encoding = spec.get("header"), spec.get("encoding", "hex")
        if not isinstance(header, str) or not header or encoding not in ("hex", "base64"):
            raise ApiConfigError(f"{where}: hmac-sha256 needs `header` and an encoding of hex or base64")
        return Signature(HMAC_SHA256, header, encoding, str(spec.get("prefix") or ""))
    raise ApiConfigError(f"{where}: `standard-webhooks`, or {{scheme: hmac-sha256, header: ...}}")


def _expression(where: str, text: Any) -> ParsedResult:
    if not isinstance(text, str) or not text.strip():
        raise ApiConfigError(f"{where}: expected a JMESPath expression")
    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        raise ApiConfigError(f"{where}: {text!r} is not JMESPath: {exc}") from None


def _optional(where: str, spec: dict[str, Any], key: str) -> ParsedResult | None:
    return _expression(f"{where}.{key}", spec[key]) if key in spec else None


def _mapping(where: str, spec: Any) -> EventMapping:
    if not isinstance(spec, dict):
        raise ApiConfigError(f"{where}: expected a mapping")
    if ("type" in spec) == ("type_path" in spec):
        raise ApiConfigError(f"{where}: give exactly one of `type` (literal) or `type_path`")
    literal = spec.get("type")
    if literal is not None and not isinstance(literal, str):
        raise ApiConfigError(f"{where}.type: expected a string")
    unit = spec.get("ts_unit", "ms")
    if unit not in ("s", "ms"):
        raise ApiConfigError(f"{where}.ts_unit: s or ms")
    properties = spec.get("properties") or {}
    if not isinstance(properties, dict):
        raise ApiConfigError(f"{where}.properties: expected a mapping of name to expression")
    return EventMapping(
        when=_optional(where, spec, "when"),
        contact_id=_expression(f"{where}.contact_id", spec.get("contact_id")),
        type=literal,
        type_path=_optional(where, spec, "type_path"),
        event_id=_optional(where, spec, "event_id"),
        ts=_optional(where, spec, "ts"),
        ts_unit=unit,
        properties={str(k): _expression(f"{where}.properties.{k}", v) for k, v in properties.items()},
    )
