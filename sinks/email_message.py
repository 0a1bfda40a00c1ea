"""Building the MIME message of an email action: multipart/alternative (text and HTML), the headers
a bulk sender needs (List-Unsubscribe, one-click unsubscribe), and a Message-ID fixed by the action id."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import formatdate
from html import unescape
from urllib.parse import quote

TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
# Long header values such as a signed unsubscribe URL are folded, never turned into encoded words
# (which mail clients do not read as URLs); 998 is RFC 5322's line limit.
HEADER_POLICY = default.clone(max_line_length=998)
WIRE_POLICY = SMTP.clone(max_line_length=998)  # what goes to the SMTP server: CRLF, same folding
# RFC 8058 wants HTTPS; plain HTTP on loopback is allowed for local runs and tests
ONE_CLICK_SCHEMES = ("https:", "http://127.0.0.1", "http://localhost")


def html_to_text(html: str) -> str:
    """A readable plain-text fallback when no text template exists."""
    text = TAGS.sub("", re.sub(r"<br\s*/?>|</p>|</h\d>|</li>|</tr>", "\n", html, flags=re.IGNORECASE))
    return BLANK_LINES.sub("\n\n", unescape(text)).strip() + "\n"


def message_id(action_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "switchyard.local"
    return f"<{hashlib.sha256(action_id.encode()).hexdigest()[:32]}@{domain}>"


def unsubscribe_links(
    template: str | None, sender: str, contact_id: str, action_id: str, token: str = ""
) -> list[str]:
    """The one-click link (``template`` with ``{contact_id}``, ``{action_id}`` and ``{token}``, the signed
    token engine.links makes) and a mailto fallback."""
    links = []
    if template:
        links.append(
            template.format(
                contact_id=quote(contact_id, safe=""), action_id=quote(action_id, safe=""), token=quote(token)
            )
        )
    links.append(f"mailto:{sender}?subject={quote('unsubscribe ' + contact_id)}")
    return links


def build_email(
    *,
    action_id: str,
    contact_id: str,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    unsubscribe_url: str | None,
    now_s: float | None = None,
    unsubscribe_token: str = "",
    transactional: bool = False,
) -> EmailMessage:
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = " ".join(subject.split())  # one line: a template's line breaks become spaces
    message["Date"] = formatdate(now_s, usegmt=True)
    message["Message-ID"] = message_id(action_id, sender)
    if not transactional:  # a receipt or a password reset carries no unsubscribe link
        links = unsubscribe_links(unsubscribe_url, sender, contact_id, action_id, unsubscribe_token)
        message["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
        if links[0].startswith(ONE_CLICK_SCHEMES):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    message["X-Switchyard-Action-Id"] = action_id
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
