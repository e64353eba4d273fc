"""``tracker`` run as a real process on the test database (the server, the webhook
worker), and a small HTTP client for the threads that load it (the concurrency, backup,
crash and webhook tests)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import DL_BASE, tracker_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], database_url: str, folder: Path, name: str,
          **env: str) -> subprocess.Popen[bytes]:
    """``tracker ARGS`` as a process of its own group (``os.killpg`` takes its workers
    and helpers with it) on the test database; its output in ``folder/name.log``."""
    environment = {**os.environ, "TRACKER_DATABASE_URL": database_url,
                   "TRACKER_DL_BASE": DL_BASE, **env}
    with open(folder / f"{name}.log", "ab") as log:
        return subprocess.Popen([*tracker_command(), *args], env=environment, cwd=folder,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_answering(base: str, process: subprocess.Popen[bytes], log_path: Path,
                   timeout: float = 60.0) -> None:
    """Until the server at ``base`` answers ``/healthz``; its log if it exits or is
    still silent after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"tracker serve exited with {process.returncode}:\n"
                                 f"{log_path.read_text(errors='replace')}")
        with contextlib.suppress(OSError):
            if call(base, "GET", "/healthz")[0] == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"tracker serve did not answer within {timeout:.0f} s:\n"
                                 f"{log_path.read_text(errors='replace')}")
        time.sleep(0.1)


@contextlib.contextmanager
def tracker_serve(database_url: str, folder: Path, *, workers: int = 2, threads: int = 4,
                  name: str = "server") -> Iterator[str]:
    """A ``tracker serve`` process on a free port; its base URL. Its log goes to
    ``folder/name.log`` and is shown if it fails to start."""
    port = free_port()
    process = spawn(["serve", "--port", str(port), "--workers", str(workers),
                     "--threads", str(threads)], database_url, folder, name,
                    TRACKER_HELPER_PROCESSES="0")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_answering(base, process, folder / f"{name}.log")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None,
         ) -> tuple[int, Any]:
    """One request on its own connection; the status and the decoded JSON (or text)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    if response.getheader("Content-Type", "").startswith(("application/json",
                                                          "application/problem+json")):
        return response.status, json.loads(raw)
    return response.status, raw.decode(errors="replace")
