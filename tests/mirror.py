"""A real HTTP mirror on 127.0.0.1 for download tests, with routes that misbehave."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MirrorHandler(BaseHTTPRequestHandler):
    """Serves ``/<route>/<file>``; the route picks how the mirror behaves.

    good: the real file; html: an error page with status 200; wrongdata: valid gzip
    of the wrong content; missing: 404; error: 500; short: announces the full length
    and hangs up halfway; slow: waits before answering.
    """

    server: MirrorServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.server.hits.append(self.path)
        route, _, name = self.path.lstrip("/").partition("/")
        source = self.server.files / name
        try:
            if route == "missing" or (route in ("good", "short", "slow") and not source.is_file()):
                self.send_error(404)
            elif route == "error":
                self.send_error(500)
            elif route == "html":
                self._send(b"<html><body>Please log in</body></html>")
            elif route == "wrongdata":
                self._send(gzip.compress(b"\0\0\x08\x01\0\0\0\x03abc"))
            elif route == "short":
                body = source.read_bytes()
                self._send(body[: len(body) // 2], length=len(body))
            elif route == "slow":
                time.sleep(1.0)
                self._send(source.read_bytes())
            else:
                self._send(source.read_bytes())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def _send(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: Path):
        super().__init__(("127.0.0.1", 0), MirrorHandler)
        self.files = files
        self.hits: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.running = True

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{route}/"

    def stop(self) -> None:
        if self.running:
            self.shutdown()
            self.server_close()
            self.thread.join()
            self.running = False


