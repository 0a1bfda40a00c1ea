"""The document channel: ``generate_document`` renders ``<template>.html`` with the action's data and
stores it by content hash (``document.generated``); ``request_signature`` sends the signer and the
document's hash to the signature service's webhook (SWITCHYARD_SIGNATURE_URL; ``signature.requested``).
The service's ``document.signed`` comes back as an event on the events topic.

No PDF: the small pure-Python PDF writers we looked at either need Pillow (a C extension) or render
only a subset of HTML; documents are HTML.
"""

from __future__ import annotations

from pathlib import Path

from sinks.documents import store_document
from sinks.exceptions import PermanentFailure
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import SinkSettings
from sinks.store import SinkStore
from sinks.template_files import TemplateFiles, action_context


def document_key(contact_id: str, document_id: str) -> str:
    """A generated document, by its contact and its id: ids come from workflow data, so two contacts may
    use the same one, and neither may be sent the other's."""
    return f"doc:{contact_id}\x1f{document_id}"


class DocumentHandler:
    channel = "document"

    def __init__(self, settings: SinkSettings, templates: TemplateFiles, store: SinkStore) -> None:
        self.settings = settings
        self.templates = templates
        self.store = store
        self.http: HttpDelivery | None = None

    async def start(self) -> None:
        secrets = self.settings.secrets_for("signature")
        if self.settings.signature_url and not secrets:
            self.settings.require_secrets("signature", "SWITCHYARD_SIGNATURE_SECRET")
        self.http = await HttpDelivery.for_hook(self.settings.webhook, secrets)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def handle(self, action: Action, attempt: int) -> Delivery:
        if action.type == "request_signature":
            return await self.request_signature(action)
        return self.generate(action)

    def generate(self, action: Action) -> Delivery:
        name = action.params.get("template")
        if not isinstance(name, str) or not name:
            raise PermanentFailure("generate_document has no template")
        html = self.templates.render(name, ".html", action_context(action))
        if html is None:
            raise PermanentFailure(f"no template {name}.html in {self.templates.directory}")
        digest, path = store_document(self.settings.documents_dir, html.encode())
        document_id = str(action.params.get("document_id") or digest[:16])
        self.store.put_json(
            document_key(action.contact_id, document_id), {"sha256": digest, "path": str(path)}
        )
        return Delivery(
            [
                OutcomeEvent(
                    "document.generated",
                    {
                        "document_id": document_id,
                        "sha256": digest,
                        "path": str(path),
                        "bytes": len(html.encode()),
                        "template": name,
                        "format": "html",
                    },
                )
            ]
        )

    async def request_signature(self, action: Action) -> Delivery:
        assert self.http is not None
        url = self.settings.signature_url
        if not url:
            raise PermanentFailure("no signature service configured: set SWITCHYARD_SIGNATURE_URL")
        document_id = str(action.params.get("document_id") or "")
        if not document_id:
            raise PermanentFailure("request_signature has no document_id")
        stored = self.store.get_json(document_key(action.contact_id, document_id))
        if not isinstance(stored, dict):  # never generated for this contact, or its generation failed
            raise PermanentFailure(f"no document {document_id!r} was generated for this contact")
        signer = action.params.get("signer_email")
        payload = {
            "document_id": document_id,
            "sha256": stored.get("sha256"),
            "document_path": stored.get("path") and Path(stored["path"]).name,
            "signer_email": signer,
            "contact_id": action.contact_id,
            **action.meta(),
            "reply_with": {
                "type": "document.signed",
                "contact_id": action.contact_id,
                "properties": {"document_id": document_id},
            },
        }
        answer = await self.http.post_json(url, payload, action.action_id)
        return Delivery(
            [
                OutcomeEvent(
                    "signature.requested",
                    {
                        "document_id": document_id,
                        "signer_email": signer,
                        "sha256": stored.get("sha256"),
                        "status": answer.status,
                    },
                )
            ]
        )
