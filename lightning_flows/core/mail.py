"""Sending email through the configured SMTP server (`LIGHTNING_SMTP_*`)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import DomainError

log = logging.getLogger(__name__)


class MailUnavailable(DomainError):
    """Email is not configured, or the SMTP server refused or could not be reached."""

    status_code = 503


def ensure_mail_configured() -> None:
    if not get_settings().smtp_host:
        raise MailUnavailable(
            "Email is not configured on this server: an administrator must set "
            "LIGHTNING_SMTP_HOST (and LIGHTNING_SMTP_PORT, LIGHTNING_MAIL_FROM)."
        )


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; raises MailUnavailable with an actionable message."""
    ensure_mail_configured()
    settings = get_settings()
    assert settings.smtp_host  # noqa: S101  # nosec B101
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    timeout = settings.smtp_timeout_seconds
    try:
        client: smtplib.SMTP
        if settings.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_username and settings.smtp_password:
                client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # The exception names the server problem, never the message (it may hold a token).
        log.error("sending mail via %s:%s failed: %s", settings.smtp_host, settings.smtp_port, exc)
        raise MailUnavailable(
            "The email could not be sent (the mail server did not accept it); "
            "try again later or contact an administrator."
        ) from exc
