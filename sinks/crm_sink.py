"""The crm channel: write contact field changes back to the CRM through its webhook (SWITCHYARD_CRM_URL),
then apply them to the profile by a ``crm.updated`` event whose properties are exactly the fields (the
profile merges them into the contact's attributes); ``crm.synced`` reports the write itself."""

from __future__ import annotations

from sinks.exceptions import PermanentFailure, SinkConfigError
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import SinkSettings


class CrmHandler:
    channel = "crm"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self.http: HttpDelivery | None = None

    async def start(self) -> None:
        if not self.settings.crm_url:
            raise SinkConfigError("crm: no CRM endpoint configured: set SWITCHYARD_CRM_URL")
        secrets = self.settings.require_secrets("crm", "SWITCHYARD_CRM_SECRET")
        self.http = await HttpDelivery.for_hook(self.settings.webhook, secrets)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def handle(self, action: Action, attempt: int) -> Delivery:
        assert self.http is not None and self.settings.crm_url is not None
        fields = action.params.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise PermanentFailure("crm_update has no fields")
        obj = str(action.params.get("object") or "contact")
        payload = {"contact_id": action.contact_id, "object": obj, "fields": fields, **action.meta()}
        answer = await self.http.post_json(self.settings.crm_url, payload, action.action_id)
        events = [OutcomeEvent("crm.synced", {"object": obj, "fields": fields, "status": answer.status})]
        if obj == "contact":  # only the contact's own fields belong in its profile
            events.append(OutcomeEvent("crm.updated", dict(fields), with_meta=False))
        return Delivery(events)
