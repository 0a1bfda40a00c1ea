"""Sending MIME messages over SMTP (aiosmtplib) through a few reused connections, and sorting errors.

- a 5xx rejection of the recipient or of the message is a bounce: final, reported as ``email.bounced``;
- a rejected sender, a failed login or a refused session (EHLO, STARTTLS) is final too, but an operator's
  problem (``email.failed``, DLQ), and the connection is opened anew for the next send;
- 4xx replies, timeouts and dropped connections are retried (the connection is opened anew).
With a login, the connection is upgraded with STARTTLS first (or is TLS from the start); logging in over
plain text needs SmtpSettings.allow_plain_auth (SWITCHYARD_SMTP_PLAIN_AUTH), see sinks/settings.py.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import aiosmtplib

from sinks.email_message import WIRE_POLICY
from sinks.exceptions import PermanentFailure, RetryableFailure
from sinks.settings import SmtpSettings


class SmtpPool:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(settings.connections):
            self.idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout_s, use_tls=s.use_tls, start_tls=s.starttls
        )

    async def close(self) -> None:
        while not self.idle.empty():
            client = self.idle.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()

    async def send(self, message: EmailMessage, recipient: str | None = None) -> str:
        """Send once (to `recipient` alone when given, never to other addresses in the headers); returns
        the server's reply text, or raises RetryableFailure / PermanentFailure."""
        client = await self.idle.get()
        try:
            if not client.is_connected:
                await self._open(client)
            # Flattened here, not by send_message: its policy folds at 78 columns and turns a long
            # unfoldable value (a signed unsubscribe URL) into encoded words that clients cannot use.
            to = [address for _, address in getaddresses(message.get_all("To", []))]
            recipients = [recipient] if recipient is not None else to
            sender = parseaddr(str(message["From"]))[1]
            _, reply = await client.sendmail(sender, recipients, message.as_bytes(policy=WIRE_POLICY))
            return reply
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise _by_code(
                max(codes, default=550), "; ".join(str(r) for r in exc.recipients), bounce=True
            ) from None
        except aiosmtplib.SMTPHeloError as exc:  # EHLO/HELO refused (sent lazily, with the first mail)
            raise _session_refused(client, exc) from None
        except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused) as exc:
            raise _by_code(exc.code, f"SMTP {exc.code} {exc.message}", bounce=False) from None
        except (
            TimeoutError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            OSError,
        ) as exc:
            client.close()
            raise RetryableFailure(f"SMTP connection: {type(exc).__name__}: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:  # DATA rejected, and other replies
            raise _by_code(exc.code, f"SMTP {exc.code} {exc.message}", bounce=True) from None
        except aiosmtplib.SMTPException as exc:
            client.close()
            raise RetryableFailure(f"SMTP: {type(exc).__name__}: {exc}") from None
        finally:
            self.idle.put_nowait(client)

    async def _open(self, client: aiosmtplib.SMTP) -> None:
        """Connect (greeting, EHLO, STARTTLS) and log in. A refusal here is the server's answer to us, not
        to a recipient: never a bounce. Any failure closes the connection, so the next send starts a new
        session and logs in again (a connection left open after a failed login would send without it)."""
        try:
            await client.connect()
            if self.settings.user:
                await client.login(self.settings.user, self.settings.password or "")
        except aiosmtplib.SMTPResponseException as exc:
            raise _session_refused(client, exc) from None
        except BaseException:
            client.close()
            raise


def _session_refused(
    client: aiosmtplib.SMTP, exc: aiosmtplib.SMTPResponseException
) -> PermanentFailure | RetryableFailure:
    """The server refused the session (greeting, EHLO, login): the operator's problem, never a bounce. The
    connection is closed, so the next send starts a new session and logs in again."""
    client.close()
    return _by_code(exc.code, f"SMTP session refused: {exc.code} {exc.message}", bounce=False)


def _by_code(code: int, message: str, bounce: bool) -> PermanentFailure | RetryableFailure:
    details = {"smtp_code": code}
    if 400 <= code < 500:
        return RetryableFailure(message, details=details)
    if bounce:
        return PermanentFailure(message, outcome="email.bounced", dead_letter=False, details=details)
    return PermanentFailure(message, details=details)
