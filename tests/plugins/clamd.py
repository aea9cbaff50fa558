"""A real ClamAV daemon for the malware-scanning tests, and scanning off for all others.

The public signature mirrors are out of reach here (and in CI), so `clamd` runs on a
signature database of one line: the MD5 of the EICAR test file. Loading one signature takes
well under a second. The daemon is started once per test process (each xdist worker its own,
in its own temporary directory and socket) the first time a test asks for `clamd`, and
stopped at the end of the session; a test that stops it (`clamd.stop()`) leaves the next one
to start it again.

Without the `clamd` binary (Debian's clamav-daemon) the tests that need it are skipped on a
laptop and fail in CI (`CI=true`): a suite that skipped its scanner tests would prove nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.services import in_ci

# Split so that no file of this repository is itself the test virus.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Eicar-Test-Signature"
START_TIMEOUT_SECONDS = 120  # generous: a busy machine; a quiet one answers in ~0.1 s


def clamd_binary() -> str | None:
    return shutil.which("clamd") or next(
        (path for path in ("/usr/sbin/clamd", "/usr/local/sbin/clamd") if os.access(path, os.X_OK)),
        None,
    )


class Clamd:
    """One clamd process on a Unix socket in `directory`."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.socket_path = directory / "clamd.sock"
        self.config = directory / "clamd.conf"
        self.process: subprocess.Popen[bytes] | None = None
        database = directory / "db"
        database.mkdir()
        (database / "test.hdb").write_text(
            f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{EICAR_SIGNATURE}\n"  # noqa: S324
        )
        lines = [
            f"DatabaseDirectory {database}",
            f"LocalSocket {self.socket_path}",
            f"LogFile {directory / 'clamd.log'}",
            "Foreground yes",
            # The app's upload limit, not clamd's 25 MB default.
            "StreamMaxLength 210M",
            "MaxFileSize 210M",
            "MaxScanSize 420M",
        ]
        if os.geteuid() == 0:
            lines.append("User root")  # clamd drops to `clamav` otherwise and cannot read here
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def address(self) -> str:
        return f"unix://{self.socket_path}"

    def answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(5)
                client.connect(str(self.socket_path))
                client.sendall(b"nPING\n")
                return client.recv(16).strip() == b"PONG"
        except OSError:
            return False

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None and self.answers():
            return
        self.process = subprocess.Popen(  # noqa: S603 - Debian's clamd, our config
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "clamd.log")
                raise RuntimeError(
                    "clamd did not start: "
                    + (log.read_text()[-2000:] if log.exists() else "no log")
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        self.process = None


@pytest.fixture(scope="session")
def clamd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    binary = clamd_binary()
    if binary is None:
        reason = "clamd is not installed (apt-get install clamav-daemon)"
        if in_ci():
            pytest.fail(f"{reason}; CI=true: a missing service is a failure, not a skip")
        pytest.skip(reason)
    # A short path: Unix socket names are limited to 107 bytes.
    daemon = Clamd(binary, Path(tmp_path_factory.mktemp("clamd", numbered=True)))
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def clamd(clamd_daemon: Clamd, settings: pytest.FixtureRequest) -> Clamd:
    """A running clamd, with the app's scanning pointed at it for this test."""
    clamd_daemon.start()
    settings.CLAMAV_ADDRESS = clamd_daemon.address  # type: ignore[attr-defined]
    return clamd_daemon


@pytest.fixture(autouse=True)
def _malware_scanning_off(settings: pytest.FixtureRequest) -> None:
    """Every other test runs with scanning off, whatever clamd the machine may run."""
    settings.CLAMAV_ADDRESS = ""  # type: ignore[attr-defined]
