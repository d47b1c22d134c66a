"""A real https webhook receiver on 127.0.0.1 for tests: checks each delivery's signature
the way a receiver should, and answers with the status the test sets."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.https_git import HOST, HttpsGitServer


class Receiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.status = 200
        self.received: list[dict] = []  # verified deliveries, in arrival order
        self.refused = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Receiver:
        self._tmp = Path(tempfile.mkdtemp(prefix="webhook-receiver-"))
        context = HttpsGitServer._tls_context(self._tmp)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                given = self.headers.get("X-Gatehouse-Signature-256", "")
                with receiver._lock:
                    if not hmac.compare_digest(expected, given):
                        receiver.refused += 1
                        status = 401
                    else:
                        status = receiver.status
                        if status < 300:
                            receiver.received.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self._httpd.server_address[1]}/hook"

    @property
    def ca_file(self) -> str:
        return str(self._tmp / "cert.pem")
