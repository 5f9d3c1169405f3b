"""Real receivers on 127.0.0.1 for what eventflow sends out of the app (threads of the test process): an
HTTP server for webhooks and signed callbacks, and an SMTP server (aiosmtpd) for e-mail. Tests script the
HTTP answers and read what arrived; nothing sleeps (a send is a call the test makes)."""
from __future__ import annotations

import email
import email.header
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class Receiver:
    """Records each request; answers with the next scripted status (then 200): a number, or (status, headers)."""

    def __init__(self, path: str = "/eventflow/callback"):
        self.requests, self.script = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.script.pop(0) if receiver.script else 200
                status, headers = status if isinstance(status, tuple) else (status, {})
                self.send_response(status)
                for name, value in headers.items():      # e.g. a redirect's Location
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self):
        return [json.loads(body) for _, body in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mail:
    """One message as it arrived: envelope recipients, decoded subject and plain-text body."""

    def __init__(self, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.to = list(envelope.rcpt_tos)
        self.sender = envelope.mail_from
        self.subject = str(message["Subject"])
        part = message.get_body(preferencelist=("plain",)) or message
        self.text = part.get_content()
        self.whole = envelope.content.decode("utf-8", "replace") + "\n" + self.text


class MailReceiver:
    """An SMTP server (aiosmtpd) on a free port, keeping every message it accepts."""

    def __init__(self):
        self.messages: list[Mail] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.messages.append(Mail(envelope))
                return "250 OK"

        with socket.socket() as probe:       # aiosmtpd checks its own port by connecting: name one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str, sender: str = "notice@eventflow.test") -> str:
        """An apprise mailto:// URL that sends to `to` through this server, in plain SMTP."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}&mode=insecure"

    def close(self):
        self.controller.stop()
