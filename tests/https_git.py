"""A real https git server on 127.0.0.1 for tests: `git http-backend` behind a small TLS server.

Every request is recorded (method, path, query, Host, headers), so tests can check which
headers git sends to which host. The same server answers under two host names,
``127.0.0.1`` and ``localhost``, which lets a test tell hosts apart by the Host header::

    with HttpsGitServer(root) as server:  # root/"team.git" is a bare repository
        git("-c", f"http.sslCAInfo={server.ca_file}", "ls-remote", server.url("team.git"))
        assert server.headers_seen("authorization") == [...]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"
# Request headers that are not handed to the CGI as HTTP_*: the body is decoded before it
# reaches `git http-backend` (CONTENT_LENGTH / CONTENT_TYPE describe it), and credentials are
# not passed to CGI programs (as Apache does not).
_NOT_FOR_CGI = {
    "authorization",
    "proxy-authorization",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
}
_BACKEND_TIMEOUT = 60


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    host: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "


class HttpsGitServer:
    """Serve the bare repositories under ``root`` over https until the context exits."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._redirects: list[tuple[str, str]] = []  # (path prefix, base URL)
        self._required: dict[str, str] = {}  # lower-cased name -> exact value
        self.errors: list[str] = []  # tracebacks of the handler's own failures
        self.backend_stderr: list[str] = []  # what `git http-backend` said on stderr
        self._tmp: Path | None = None
        self._port: int | None = None
        self._ca_file: Path | None = None
        self._httpd: _TLSServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> HttpsGitServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("HttpsGitServer already started")
        self._tmp = Path(tempfile.mkdtemp(prefix="https-git-"))
        try:
            context = self._tls_context(self._tmp)
            self._httpd = _TLSServer((HOST, 0), _Handler, context, self)
            self._port = self._httpd.server_address[1]
            self._ca_file = self._tmp / "cert.pem"
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            raise
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"https-git-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()  # stop accepting; returns once serve_forever has returned
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            httpd.drop_connections()  # wake handlers idling on keep-alive connections
            httpd.server_close()  # closes the listening socket, joins the handler threads
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @staticmethod
    def _tls_context(folder: Path) -> ssl.SSLContext:
        key, cert = folder / "key.pem", folder / "cert.pem"
        # An EC key: as good as RSA for the test, and generated in milliseconds.
        subprocess.run(
            [
                "openssl", "req", "-x509", "-nodes", "-days", "2",
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-subj", f"/CN={HOST}",
                "-addext", f"subjectAltName=IP:{HOST},DNS:localhost",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (still known after exit, for messages and assertions)."""
        if self._port is None:
            raise RuntimeError("HttpsGitServer was not started")
        return self._port

    @property
    def ca_file(self) -> Path:
        """The self-signed certificate, for git's ``http.sslCAInfo``; removed on exit."""
        if self._ca_file is None:
            raise RuntimeError("HttpsGitServer was not started")
        return self._ca_file

    def base_url(self, host: str = HOST) -> str:
        return f"https://{host}:{self.port}"

    def url(self, name: str, host: str = HOST) -> str:
        return f"{self.base_url(host)}/{name.lstrip('/')}"

    # -- what was seen -----------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """A snapshot, oldest first."""
        with self._lock:
            return list(self._requests)

    def headers_seen(self, name: str) -> list[str]:
        """The values of header ``name`` (any case) across requests, oldest first."""
        name = name.lower()
        return [r.headers[name] for r in self.requests if name in r.headers]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self.errors.clear()
            self.backend_stderr.clear()

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def _backend_said(self, text: str) -> None:
        with self._lock:
            self.backend_stderr.append(text)

    # -- behaviour ---------------------------------------------------------------------------

    def redirect(self, prefix: str, to_host: str) -> None:
        """Answer ``302 Found`` to paths starting with ``prefix``, to the same path and query on
        ``https://<to_host>:PORT``. Requests already addressed to ``to_host`` are served."""
        self.redirect_to_url(prefix, self.base_url(to_host))

    def redirect_to_url(self, prefix: str, base_url: str) -> None:
        """Answer ``302 Found`` to paths starting with ``prefix``, Location ``base_url`` + the
        same path and query. Requests whose Host is already ``base_url``'s are served."""
        with self._lock:
            self._redirects.append((prefix, base_url.rstrip("/")))

    def require_header(self, name: str, value: str) -> None:
        """Answer ``401 Unauthorized`` (``WWW-Authenticate: Basic realm="git"``) to requests
        without header ``name`` equal to ``value``. Checked after redirects."""
        with self._lock:
            self._required[name.lower()] = value

    def _redirect_for(self, request: Request) -> str | None:
        with self._lock:
            redirects = list(self._redirects)
        for prefix, base in redirects:
            if request.path.startswith(prefix) and urlsplit(base).netloc != request.host:
                query = f"?{request.query}" if request.query else ""
                return f"{base}{request.path}{query}"
        return None

    def _authorized(self, request: Request) -> bool:
        with self._lock:
            required = dict(self._required)
        return all(request.headers.get(name) == value for name, value in required.items())


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self, address, handler, context: ssl.SSLContext, owner: HttpsGitServer):
        self.ssl_context = context
        self.owner = owner
        self._connections: set[ssl.SSLSocket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's thread, not in the accept loop.
        request.settimeout(10)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a client that gave up, or did not trust the certificate
        with self._connections_lock:
            self._connections.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            connection.close()

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # The plain socket's shutdown: the handler's blocked read returns, and the
            # TLS object stays intact for the handler thread that owns it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        self.owner._error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer
    timeout = 30  # seconds a connection may idle between requests

    def log_message(self, format, *args):
        pass  # quiet: no line on stderr per request

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    def _serve(self) -> None:
        owner = self.server.owner
        self._started_response = False
        try:
            path, _, query = self.path.partition("?")
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            request = Request(
                method=self.command,
                path=path,
                query=query,
                host=headers.get("host", ""),
                headers=headers,
            )
            owner._record(request)
            body = self._read_body()
            location = owner._redirect_for(request)
            if location is not None:
                self._respond(302, "Found", [("Location", location)], b"Moved\n")
            elif not owner._authorized(request):
                self._respond(
                    401,
                    "Unauthorized",
                    [("WWW-Authenticate", 'Basic realm="git"')],
                    b"Authentication required\n",
                )
            else:
                self._cgi(request, body)
        except Exception:
            owner._error(traceback.format_exc())
            self.close_connection = True
            if not self._started_response:
                with contextlib.suppress(OSError):
                    self._respond(500, "Internal Server Error", [("Connection", "close")], b"")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            line = self.rfile.readline(65537)
            if not line.endswith(b"\n"):
                raise ValueError("truncated chunk size line")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ValueError("truncated chunk")
            parts.append(data)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    def _cgi(self, request: Request, body: bytes) -> None:
        owner = self.server.owner
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(owner._tmp),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "SERVER_NAME": HOST,
            "SERVER_PORT": str(owner.port),
            "REQUEST_METHOD": request.method,
            "PATH_INFO": unquote(request.path),
            "QUERY_STRING": request.query,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "tester",
        }
        if "content-type" in request.headers:
            env["CONTENT_TYPE"] = request.headers["content-type"]
        if body or "content-length" in request.headers or "transfer-encoding" in request.headers:
            env["CONTENT_LENGTH"] = str(len(body))  # of the body as piped, chunking removed
        for name, value in request.headers.items():
            if name not in _NOT_FOR_CGI:  # e.g. HTTP_CONTENT_ENCODING, HTTP_GIT_PROTOCOL
                env["HTTP_" + name.upper().replace("-", "_")] = value
        result = subprocess.run(
            ["git", "http-backend"],
            input=body,
            capture_output=True,
            env=env,
            timeout=_BACKEND_TIMEOUT,
        )
        if result.stderr.strip():
            owner._backend_said(result.stderr.decode(errors="replace"))
        head, body_out = _split_cgi(result.stdout)
        code, reason = 200, "OK"
        headers: list[tuple[str, str]] = []
        for line in head.splitlines():
            if not line.strip():
                continue
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "status":
                status, _, reason = value.partition(" ")
                code = int(status)
                reason = reason or HTTPStatus(code).phrase
            elif name.lower() not in ("content-length", "transfer-encoding", "connection"):
                headers.append((name, value))
        if result.returncode != 0 and not result.stdout:
            code, reason = 500, "Internal Server Error"
        self._respond(code, reason, headers, body_out)

    def _respond(self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self._started_response = True
        self.send_response(code, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


def _split_cgi(output: bytes) -> tuple[str, bytes]:
    """CGI output: headers, a blank line, the body. `git http-backend` ends lines with CRLF."""
    crlf, lf = output.find(b"\r\n\r\n"), output.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        return output[:crlf].decode("latin-1"), output[crlf + 4 :]
    if lf != -1:
        return output[:lf].decode("latin-1"), output[lf + 2 :]
    return output.decode("latin-1"), b""
