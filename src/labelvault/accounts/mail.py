"""Invitation e-mails over SMTP, only when SMTP settings are given."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from labelvault.config import Settings

log = logging.getLogger("labelvault.mail")


def send_invitation(settings: Settings, to: str, link: str, organization: str) -> bool:
    if not settings.smtp_host:
        return False
    message = EmailMessage()
    message["Subject"] = f"You are invited to {organization} on labelvault"
    message["From"] = settings.smtp_from or settings.smtp_user
    message["To"] = to
    message.set_content(f"Open this link to join {organization}; it works once:\n\n{link}\n")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.exception("invitation e-mail failed")
        return False
    return True
