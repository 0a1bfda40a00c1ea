"""The email a send node would send to one contact: its params rendered as the engine renders them at step
time (engine.templates, sandboxed), then its body rendered by the email sink's own code (sinks.email_sink,
the template files of SWITCHYARD_TEMPLATES), so the preview is what the sink would send. Nothing is sent.

The contact is either a sample (``{"attrs": {...}}`` and optionally tags/scores/counts) or a stored one
(its profile from the contacts table); an optional sample event and run variables fill ``event.*`` and
``run.*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.api.exceptions import ApiError
from engine.profile import new_profile
from engine.templates import TemplateError, profile_snapshot, render_params, template_context
from sinks.email_sink import EmailBody
from sinks.exceptions import PermanentFailure
from sinks.records import Action
from sinks.template_files import TemplateFiles

PROFILE_PARTS = ("attrs", "tags", "scores", "counts", "last_by_type", "first_seen", "last_seen")


@dataclass(frozen=True)
class PreviewRequest:
    template: str
    params: dict[str, Any]
    contact_id: str
    profile: dict[str, Any]
    event: dict[str, Any] | None
    run: dict[str, Any]
    now: int


def sample_profile(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A profile from a sample contact: only the profile's own parts, each of the right kind."""
    profile: dict[str, Any] = dict(new_profile())
    for part in PROFILE_PARTS:
        if part in contact:
            value, kind = contact[part], type(profile[part])
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ApiError(400, "bad_contact", f"contact.{part} must be a {kind.__name__}")
            profile[part] = value
    return profile


def template_names(templates: TemplateFiles) -> list[dict[str, Any]]:
    return [
        {"name": name, "parts": [s.lstrip(".") for s in parts]} for name, parts in templates.names().items()
    ]


def preview(templates: TemplateFiles, request: PreviewRequest) -> dict[str, Any]:
    """{"subject", "text", "html", "params"}; 400 for a bad name, 404 for an unknown template, 422 when a
    template fails to render."""
    try:
        if (
            templates.source(request.template, ".txt") is None
            and templates.source(request.template, ".html") is None
        ):
            raise ApiError(
                404, "unknown_template", f"no template {request.template!r} in {templates.directory}"
            )
    except PermanentFailure as exc:
        raise ApiError(400, "bad_template_name", str(exc)) from None
    context = template_context(request.profile, request.event, request.run, request.now, request.contact_id)
    try:
        rendered = render_params({**request.params, "template": request.template}, context)
    except TemplateError as exc:
        raise ApiError(422, "template_error", f"params: {exc}") from None
    raw = {"ts": request.now, "profile": profile_snapshot(request.profile)}  # as the engine's action has it
    action = Action("preview", "email", "send_email", request.contact_id, rendered, raw)
    try:
        text, html = EmailBody(templates).render(action)
    except PermanentFailure as exc:
        raise ApiError(422, "template_error", str(exc)) from None
    return {"subject": str(rendered.get("subject") or ""), "text": text, "html": html, "params": rendered}
