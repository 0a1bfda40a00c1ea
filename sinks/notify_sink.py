"""The notify channel: tell a user or a team why they should look (assignment, stale, deadline ...),
by email (SMTP, addresses from SWITCHYARD_USERS or <user>@SWITCHYARD_USER_EMAIL_DOMAIN) or by a webhook
(SWITCHYARD_NOTIFY_URL), as SWITCHYARD_NOTIFY_VIA says. Outcome: ``notification.sent``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sinks.email_message import build_email
from sinks.email_sink import single_address
from sinks.exceptions import PermanentFailure, SinkConfigError
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import SinkSettings
from sinks.smtp_pool import SmtpPool
from sinks.teams import team_members

ROUTING_PARAMS = frozenset({"user", "team", "reason", "message"})


def recipients(
    params: Mapping[str, Any], teams: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[str]]:
    """({"user": name} or {"team": name}, the users to tell)."""
    user, team = params.get("user"), params.get("team")
    if isinstance(user, str) and user:
        return {"user": user}, [user]
    if isinstance(team, str) and team:
        return {"team": team}, list(team_members(teams, team))
    raise PermanentFailure("notification has no recipient (user or team)")


def notification_text(action: Action, reason: str, message: str) -> str:
    lines = [message, "", f"Reason: {reason}", f"Contact: {action.contact_id}"]
    if action.workflow_id:
        lines.append(f"Workflow: {action.workflow_id} (node {action.raw.get('node_id')})")
    lines += [f"{key}: {value}" for key, value in action.params.items() if key not in ROUTING_PARAMS]
    return "\n".join(lines) + "\n"


class NotifyHandler:
    channel = "notify"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self.pool: SmtpPool | None = None
        self.http: HttpDelivery | None = None

    async def start(self) -> None:
        s = self.settings
        if s.notify_via == "webhook":
            if not s.notify_url:
                raise SinkConfigError("notify: SWITCHYARD_NOTIFY_VIA=webhook needs SWITCHYARD_NOTIFY_URL")
            secrets = s.require_secrets("notify", "SWITCHYARD_NOTIFY_SECRET")
            self.http = await HttpDelivery.for_hook(s.webhook, secrets)
        else:
            if s.smtp is None:
                raise SinkConfigError(
                    "notify: by email needs SWITCHYARD_SMTP_HOST (or SWITCHYARD_NOTIFY_VIA=webhook)"
                )
            self.pool = SmtpPool(s.smtp)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.http is not None:
            await self.http.close()

    def address_of(self, user: str) -> str:
        if "@" in user:
            return single_address(user, f"a notify user is one name or one address, not {user[:80]!r}")
        address = self.settings.user_emails.get(user)
        if address:
            return address
        if self.settings.user_email_domain:
            return f"{user}@{self.settings.user_email_domain}"
        raise PermanentFailure(f"no email address for user {user!r} (SWITCHYARD_USERS)")

    async def handle(self, action: Action, attempt: int) -> Delivery:
        recipient, users = recipients(action.params, self.settings.teams)
        reason = str(action.params.get("reason") or "alert")
        message = str(action.params.get("message") or f"{reason}: contact {action.contact_id}")
        if self.http is not None:
            assert self.settings.notify_url is not None
            payload = {
                "recipient": recipient,
                "users": users,
                "reason": reason,
                "message": message,
                "contact_id": action.contact_id,
                **action.meta(),
                "details": {k: v for k, v in action.params.items() if k not in ROUTING_PARAMS},
            }
            await self.http.post_json(self.settings.notify_url, payload, action.action_id)
            via = "webhook"
        else:
            assert self.pool is not None and self.settings.smtp is not None
            addresses = [self.address_of(user) for user in users]
            email = build_email(
                action_id=action.action_id,
                contact_id=action.contact_id,
                sender=self.settings.smtp.sender,
                recipient=", ".join(addresses),
                subject=f"[{reason}] {message[:80]}",
                text=notification_text(action, reason, message),
                html=None,
                unsubscribe_url=None,
            )
            try:
                await self.pool.send(email)
            except PermanentFailure as exc:  # a team member's address refused: ours to fix, not a bounce
                raise PermanentFailure(exc.message, details=exc.details) from None
            via = "email"
        return Delivery(
            [OutcomeEvent("notification.sent", {**recipient, "users": users, "reason": reason, "via": via})]
        )
