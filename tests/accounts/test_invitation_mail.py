"""Invitation e-mails go out over SMTP when SMTP settings are given (a real SMTP conversation on loopback)."""

from __future__ import annotations

import socketserver
import threading
import time

from fastapi.testclient import TestClient

from labelvault.app import create_app


class _Smtp(socketserver.StreamRequestHandler):
    received: list[bytes] = []

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 test")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._say("250 test")
            elif verb == b"DATA":
                self._say("354 go on")
                body = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    body += chunk
                _Smtp.received.append(body)
                self._say("250 queued")
            elif verb == b"QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


def test_invitation_link_is_mailed_when_smtp_is_configured(settings, ctx, owner):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mail_settings = settings.model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": server.server_address[1], "smtp_starttls": False,
            "smtp_from": "labelvault@example.test"})
        ctx.settings = mail_settings
        with TestClient(create_app(mail_settings, context=ctx)) as client:
            invited = client.post("/api/v1/invitations", json={"email": "mailme@example.test"},
                                  headers=owner.headers)
        assert invited.status_code == 201 and invited.json()["emailed"] is True
        deadline = time.monotonic() + 5
        while not _Smtp.received and time.monotonic() < deadline:
            time.sleep(0.05)
        message = _Smtp.received[-1].decode()
        assert "To: mailme@example.test" in message
        assert invited.json()["link"] in message.replace("=\r\n", "")
    finally:
        server.shutdown()
        server.server_close()


def test_no_smtp_means_the_link_is_only_shown(client, owner):
    invited = client.post("/api/v1/invitations", json={"email": "x@example.test"}, headers=owner.headers)
    assert invited.json()["emailed"] is False and "/invite/" in invited.json()["link"]
