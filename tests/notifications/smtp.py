"""A real SMTP server on 127.0.0.1 for tests, speaking just enough of RFC 5321 for Django's
SMTP backend. It hangs up on the first ``drop`` connections (as a relay that is restarting
does), hangs up once instead of taking the ``hang_up_at``-th message, and refuses the
addresses in ``refuse`` (550)."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes
from email.message import Message


class SmtpServer:
    def __init__(self, *, drop: int = 0, hang_up_at: int = 0, refuse: tuple[str, ...] = ()):
        self.drop, self.hang_up_at, self.refuse = drop, hang_up_at, set(refuse)
        self.data_commands = 0
        self.connections = 0
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __enter__(self) -> SmtpServer:
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self):
                with server._lock:
                    server.connections += 1
                    dropped = server.connections <= server.drop
                if dropped:
                    return  # closed before the greeting
                self.reply("220 localhost test SMTP")
                while line := self.rfile.readline():
                    text = line.decode(errors="replace").strip()
                    verb = text.split(" ")[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "RCPT" and any(f"<{a}>" in text for a in server.refuse):
                        self.reply("550 No such mailbox")
                    elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "DATA":
                        with server._lock:
                            server.data_commands += 1
                            if server.data_commands == server.hang_up_at:
                                return
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        self._take_message()
                        self.reply("250 OK: queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

            def _take_message(self) -> None:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                with server._lock:
                    server.messages.append(message_from_bytes(b"".join(lines)))

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
