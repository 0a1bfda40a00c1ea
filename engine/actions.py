"""The action catalogue: which actions exist, their channel, and the params each one needs."""

from __future__ import annotations

EXTERNAL_ACTIONS: dict[str, str] = {
    "send_email": "email",
    "send_sms": "sms",
    "send_push": "push",
    "webhook": "webhook",
    "crm_update": "crm",
    "generate_document": "document",
    "request_signature": "document",
    "create_task": "task",
    "notify": "notify",
}
INTERNAL_ACTIONS = frozenset(
    {"update_contact", "add_tag", "remove_tag", "update_score", "start_workflow", "stop_workflow"}
)
# send_best sends one message on the channel it picks at step time (the channel-choice hint, else the
# first channel the contact is reachable on), as the matching send action of SEND_ACTIONS would.
SEND_BEST = "send_best"
SEND_ACTIONS = {"email": "send_email", "sms": "send_sms", "push": "send_push"}
ALL_ACTIONS = frozenset(EXTERNAL_ACTIONS) | INTERNAL_ACTIONS | {SEND_BEST}
CHANNELS = frozenset(EXTERNAL_ACTIONS.values())
CONTACT_CHANNELS = frozenset({"email", "sms", "push"})  # reach the contact: quiet hours apply by default
# Where a contact channel's address comes from when the action names no `to`: a profile attribute.
RECIPIENT_ATTRIBUTES = {"email": "email", "sms": "phone", "push": "push_token"}
NOTIFY_REASONS = frozenset({"assignment", "stale", "deadline", "escalation", "alert"})

# Each inner tuple is "one of these keys is required".
REQUIRED_PARAMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "send_email": (("template", "subject"),),
    "send_sms": (("body", "template"),),
    "send_push": (("title", "template"),),
    SEND_BEST: (("messages",),),
    "webhook": (("url",),),
    "crm_update": (("fields",),),
    "generate_document": (("template",),),
    "request_signature": (("document_id",),),
    "create_task": (("title",), ("assignee", "team")),
    "notify": (("user", "team"), ("reason",)),
    "update_contact": (("fields", "status"),),
    "add_tag": (("tag", "tags"),),
    "remove_tag": (("tag", "tags"),),
    "update_score": (("name",), ("delta", "value")),
    "start_workflow": (("workflow",),),
    "stop_workflow": (("workflow",),),
}


def missing_params(action: str, params: dict[str, object]) -> list[tuple[str, ...]]:
    """The groups of keys of which none is present."""
    return [group for group in REQUIRED_PARAMS.get(action, ()) if not any(key in params for key in group)]
