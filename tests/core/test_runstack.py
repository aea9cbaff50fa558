"""`manage.py runstack` (`make run`) keeps the stack up: a crashed child comes back, logged.

A real run on the embedded default (SQLite and the filesystem broker in a scratch LPO_VAR_DIR):
the worker is killed with SIGKILL, and the supervisor must restart it while web and beat keep
running. Waits are on log lines, with generous timeouts (the first start migrates).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpo_tracker.core.management.commands.runstack import (
    RESTART_DELAY_MAX_SECONDS,
    restart_delay,
)

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 240.0
EVENT_TIMEOUT_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Run:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(
        self, pattern: str, *, count: int = 1, timeout: float = EVENT_TIMEOUT_SECONDS
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.text(), flags=re.MULTILINE)
            if len(found) >= count:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {count}× {pattern!r} in the log:\n{self.text()[-4000:]}")
            time.sleep(0.2)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Run]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(LPO_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "runstack", "--no-seed", "--port", str(free_port())],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    run = Run(process, log)
    try:
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_killed_worker_is_restarted_and_the_rest_keeps_running(stack: Run) -> None:
    stack.wait_for(r"Press Ctrl-C", timeout=START_TIMEOUT_SECONDS)
    stack.wait_for(r"celery@\S+ ready")
    [worker_pid] = stack.wait_for(r"stack \| worker started \(pid (\d+)\)")
    [web_pid] = stack.wait_for(r"stack \| web started \(pid (\d+)\)")

    os.kill(int(worker_pid), signal.SIGKILL)

    stack.wait_for(r"stack \| worker exited with code -9 after \d+ s; restart 1 in 1 s")
    pids = stack.wait_for(r"stack \| worker started \(pid (\d+)\)", count=2)
    assert pids[1] != worker_pid
    stack.wait_for(r"celery@\S+ ready", count=2)
    assert stack.process.poll() is None  # the supervisor itself never stopped
    os.kill(int(web_pid), 0)  # the web server is the same process as before (raises if gone)
    assert "web exited" not in stack.text()

    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=EVENT_TIMEOUT_SECONDS) == 0
    text = stack.text()
    assert "Restarts: web 0, worker 1, beat 0." in text
    assert "All processes stopped." in text


def test_restart_back_off_doubles_per_quick_failure_and_is_capped() -> None:
    assert [restart_delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert restart_delay(50) == RESTART_DELAY_MAX_SECONDS
