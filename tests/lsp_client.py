"""A minimal Language Server Protocol client over a subprocess's stdio: JSON-RPC with Content-Length framing.

A thread reads the server's messages into a queue; requests wait for their
response, notifications are kept in order and waited for by predicate. The
server's own requests (registrations, progress) get a null result. Timeouts
are generous bounds against a hung server, never what a test measures.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from typing import Any

TIMEOUT = 120.0


class ServerGone(AssertionError):
    pass


class LspClient:
    def __init__(self, command: list[str], *, cwd: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        #: Requests the server sent (each answered with a null result).
        self.server_requests: list[dict[str, Any]] = []
        self.stderr: list[bytes] = []
        self._next_id = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()  # type: ignore[arg-type]

    # ---------------------------------------------------------------- wire
    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body.decode("utf-8")))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def _take(self) -> dict[str, Any]:
        try:
            message = self.messages.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no message from the server in {TIMEOUT} s; stderr: {self.error_output()}") from None
        if message is None:
            raise ServerGone(f"the server closed its output; stderr: {self.error_output()}")
        if "method" in message and "id" in message:  # a request of the server's
            self.server_requests.append(message)
            self.send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        return message

    def error_output(self) -> str:
        return b"".join(self.stderr).decode("utf-8", "replace")

    # ------------------------------------------------------------ protocol
    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        self.send({"id": ident, "method": method, "params": params})
        while True:
            message = self._take()
            if message.get("id") == ident and "method" not in message:
                assert "error" not in message, message["error"]
                return message.get("result")

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first notification (already received and not yet consumed, or next) that satisfies ``predicate``."""
        while True:
            for i, note in enumerate(self.notifications):
                if predicate(note):
                    del self.notifications[i]
                    return note
            self._take()

    def wait_for_request(self, method: str) -> dict[str, Any]:
        """The first request of the server's with this method (received already, or next)."""
        while True:
            for message in self.server_requests:
                if message["method"] == method:
                    return message
            self._take()

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        """The next diagnostics published for ``uri`` (of ``version``, when given)."""
        note = self.wait_for(
            lambda n: (
                n["method"] == "textDocument/publishDiagnostics"
                and n["params"]["uri"] == uri
                and (version is None or n["params"].get("version") == version)
            )
        )
        return note["params"]["diagnostics"]

    def close(self) -> int:
        """shutdown, exit; the server's exit code."""
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
