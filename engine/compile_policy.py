"""Compile the workspace policy: the caps, quiet hours and send rates every workflow obeys.

A policy document (YAML or JSON)::

    version: 3                      # required, grows with each published policy
    note: "Black Friday: tighter"   # optional, shown in the catalog
    frequency_caps: {email: {max: 3, per: 7d}}
    quiet_hours: {start: "21:00", end: "08:00", channels: [email, sms]}
    send_rates: {email: {max: 50, per: 1s}}

Problems are reported with their path, line and column, like a workflow's.
"""

from __future__ import annotations

from typing import Any

from engine.compile_common import open_document
from engine.compile_settings import compile_caps, compile_quiet_hours
from engine.exceptions import PolicyInvalid, WorkflowParseError
from engine.issues import ValidationIssue
from engine.model import Policy, SendRate
from engine.parser import Document, document_from_data, parse_text

POLICY_KEY_PREFIX = "#policy@"  # its catalog key, `#policy@<version>` ('#' cannot start a workflow id)
POLICY_FIELDS = frozenset({"version", "note", "frequency_caps", "quiet_hours", "send_rates"})


def compile_policy_document(document: Document) -> tuple[Policy | None, list[ValidationIssue]]:
    issues, reader, data = open_document(document, "a workspace policy", "version, frequency_caps")
    if data is None:
        return None, issues.issues
    reader.check_fields(data, (), POLICY_FIELDS, "the workspace policy")
    version = reader.integer(data, "version", (), "a workspace policy", minimum=1)
    if "version" not in data:
        issues.add((), "a workspace policy needs 'version' (an integer, 1 for the first)", at_key=True)
    note = reader.string(data, "note", (), "a workspace policy") or ""
    caps = compile_caps(reader, data.get("frequency_caps"), ("frequency_caps",))
    quiet = compile_quiet_hours(reader, data.get("quiet_hours"), ("quiet_hours",))
    rates = []
    for cap in compile_caps(reader, data.get("send_rates"), ("send_rates",)):
        if cap.max < 1:
            issues.add(("send_rates", cap.channel, "max"), "a send rate must allow at least 1 send")
        else:
            rates.append(SendRate(cap.channel, cap.max, cap.per_ms))
    if issues.has_errors or version is None:
        return None, issues.issues
    return Policy(version, caps, quiet, tuple(rates), note), issues.issues


def load_policy(data: Any, source: str = "<policy>") -> Policy:
    """Compile a policy from YAML/JSON text or already-parsed data; raises PolicyInvalid."""
    try:
        document = parse_text(data, source) if isinstance(data, str) else document_from_data(data, source)
    except WorkflowParseError as err:
        issue = ValidationIssue(source, err.line, err.column, None, err.message, None)
        raise PolicyInvalid([issue]) from err
    policy, issues = compile_policy_document(document)
    if policy is None:
        raise PolicyInvalid([issue for issue in issues if issue.severity == "error"] or issues)
    return policy
