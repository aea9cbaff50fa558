"""The body limit under the real server: gunicorn with gunicorn.conf.py, a raw socket.

The client sends only the request headers and then waits. Had anything tried to read the
declared body, the request would hang (the body never comes) and the read below would time
out; an answer at all proves the refusal came before the body was read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
START_TIMEOUT_SECONDS = 120  # start-up on a busy machine; not a measurement
ANSWER_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "LPO_VAR_DIR": str(tmp_path_factory.mktemp("gunicorn-var"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (exit {process.poll()})") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=60)


def headers_only(port: int, path: str, content_length: int) -> str:
    """Send a POST's headers declaring `content_length` bytes, none of them; the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_SECONDS) as client:
        client.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {content_length}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n" not in answer:
            chunk = client.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def test_gunicorn_answers_413_to_an_oversized_upload_without_waiting_for_the_body(
    gunicorn: int,
) -> None:
    status = headers_only(gunicorn, "/portal/tasks/1/submit/", 250 * 1024 * 1024)

    assert status == "HTTP/1.1 413 Request Entity Too Large"


def test_gunicorn_sends_an_anonymous_upload_to_sign_in_without_waiting_for_the_body(
    gunicorn: int,
) -> None:
    status = headers_only(gunicorn, "/tasks/1/submit/", 1024 * 1024)

    assert status == "HTTP/1.1 302 Found"
