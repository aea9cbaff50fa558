"""`manage.py runstack`: the whole app on one machine, from one command (`make run`).

Migrates, seeds the demo data into an empty database, then runs three children side by side:
Django's development server, one Celery worker and the one Celery beat. Their output is
interleaved with a name prefix. Ctrl-C or SIGTERM stops all three. A child that dies is
restarted on its own, after a back-off that doubles with each quick failure (1 s, 2 s, 4 s …
capped at a minute; reset once it has stayed up for a minute), and the log says so
("stack | worker exited with code -9; restart 1 in 1 s"): the others keep running, so one
crash never takes the whole app down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lpo_tracker.envconfig import env_int

# How long a child gets to shut down after SIGTERM before it is killed.
STOP_TIMEOUT_SECONDS = 10.0
# How long the web server gets to start listening before the banner is printed anyway.
WEB_READY_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
# Restart back-off: first delay, cap, and how long a child must stay up to count as healthy
# again (then the next crash starts from the first delay).
RESTART_DELAY_SECONDS = 1.0
RESTART_DELAY_MAX_SECONDS = 60.0
HEALTHY_AFTER_SECONDS = 60.0


def restart_delay(quick_failures: int) -> float:
    """Seconds to wait before restart number `quick_failures` (1, 2, …) in a row."""
    return min(RESTART_DELAY_MAX_SECONDS, RESTART_DELAY_SECONDS * 2 ** (quick_failures - 1))


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[str] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    started_at: float = 0.0
    restarts: int = 0
    quick_failures: int = 0
    restart_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def broker_directories() -> list[Path]:
    """Directories the filesystem broker and file result backend need (none for Redis)."""
    directories: list[Path] = []
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            if options.get(key):
                directories.append(Path(str(options[key])))
    backend = str(settings.CELERY_RESULT_BACKEND)
    if backend.startswith("file://"):
        directories.append(Path(urlsplit(backend).path))
    directories.append(Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent)
    return directories


def _seed_demo_module() -> ModuleType | None:
    """The module of whichever app provides seed_demo, looked up through the command
    registry rather than imported, because the project package must not import the apps
    (docs/architecture.md) and seed_demo may not exist yet."""
    app_name = get_commands().get("seed_demo")
    if not app_name or app_name == "django.core":
        return None
    try:
        return import_module(f"{app_name}.management.commands.seed_demo")
    except ImportError:
        return None


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role) of the demo users."""
    provider: Callable[[], Iterable[tuple[str, str, str]]] | None = getattr(
        _seed_demo_module(), "demo_logins", None
    )
    return list(provider()) if provider else []


def demo_second_factor() -> str:
    """How the demo users pass the second factor."""
    provider: Callable[[], str] | None = getattr(_seed_demo_module(), "demo_second_factor",
                                                 None)
    return provider() if provider else ""


class Command(BaseCommand):
    help = "Run web server, Celery worker and Celery beat together, after migrate and demo seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=env_int("PORT", 8000, minimum=1),
            help="Port of the development web server (default: $PORT or 8000).",
        )
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not load demo data into an empty database."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        self._output_lock = threading.Lock()
        self._stop_signal: int | None = None

        for directory in broker_directories():
            directory.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=1)
        if not options["no_seed"]:
            self._seed_if_empty()

        children = self._children(host, port)
        previous = self._install_signal_handlers()
        try:
            for child in children:
                self._start(child)
            self._print_banner(host, port, children)
            self._supervise(children)
        finally:
            self._stop_all(children)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        restarts = ", ".join(f"{child.name} {child.restarts}" for child in children)
        self.stdout.write(f"Restarts: {restarts}.")
        self.stdout.write("All processes stopped.")

    # --- start-up -----------------------------------------------------------------------

    def _seed_if_empty(self) -> None:
        if get_user_model().objects.exists():
            return
        try:
            call_command("seed_demo")
        except CommandError as exc:
            self.stdout.write(self.style.WARNING(f"Demo data not loaded: {exc}"))

    def _children(self, host: str, port: int) -> list[Child]:
        manage_py = str(Path(settings.BASE_DIR) / "manage.py")
        celery = [sys.executable, "-m", "celery", "-A", "lpo_tracker"]
        return [
            Child("web", [sys.executable, manage_py, "runserver", f"{host}:{port}", "--noreload"]),
            Child(
                "worker", [*celery, "worker", "--loglevel=INFO", "--pool=solo", "--concurrency=1"]
            ),
            Child(
                "beat",
                [*celery, "beat", "--loglevel=INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            ),
        ]

    def _start(self, child: Child) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Own process group: a terminal's Ctrl-C reaches only this supervisor, which then
        # stops the children in order instead of all of them racing on the same signal.
        child.process = subprocess.Popen(  # noqa: S603 - argv built from our own constants
            child.argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            process_group=0,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        self._say(f"stack | {child.name} started (pid {child.process.pid})")
        assert child.process.stdout is not None
        child.reader = threading.Thread(
            target=self._relay, args=(child.name, child.process.stdout), daemon=True
        )
        child.reader.start()

    def _relay(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            self._say(f"{name:<6}| {line.rstrip()}")

    def _say(self, message: str) -> None:
        with self._output_lock:
            self.stdout.write(message)
            self.stdout.flush()

    def _print_banner(self, host: str, port: int, children: list[Child]) -> None:
        deadline = time.monotonic() + WEB_READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and self._stop_signal is None:
            if not all(child.running for child in children):
                return
            try:
                with socket.create_connection((host, port), timeout=POLL_SECONDS):
                    break
            except OSError:
                time.sleep(POLL_SECONDS)
        url = f"http://{host}:{port}/"
        lines = [
            "",
            f"LPO Tracker is running at {url}",
            f"Admin: {url}admin/",
            f"Health: {url}healthz and {url}readyz",
            f"Broker: {urlsplit(str(settings.CELERY_BROKER_URL)).scheme}, "
            f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}",
        ]
        if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
            lines.append(f"Data: {settings.VAR_DIR} (LPO_VAR_DIR)")
        logins = demo_logins()
        if logins:
            user_width = max(len(user) for user, _, _ in logins)
            password_width = max(len(password) for _, password, _ in logins)
            lines.append("Demo logins (username, password, role):")
            lines.extend(
                f"  {user:<{user_width}}  {password:<{password_width}}  {role}"
                for user, password, role in logins
            )
            note = demo_second_factor()
            if note:
                lines.append(note)
        lines.extend(["Press Ctrl-C to stop.", ""])
        self._say("\n".join(lines))

    # --- supervision and shutdown -------------------------------------------------------

    def _install_signal_handlers(self) -> dict[int, Any]:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self._stop_signal = signum

        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
        return previous

    def _supervise(self, children: list[Child]) -> None:
        """Until a stop signal: restart each child that exits, with back-off."""
        while self._stop_signal is None:
            now = time.monotonic()
            for child in children:
                if child.running:
                    continue
                if child.restart_at is None:
                    self._schedule_restart(child, now)
                elif now >= child.restart_at:
                    child.restarts += 1
                    self._start(child)
            time.sleep(POLL_SECONDS)
        self._say(f"Received {signal.Signals(self._stop_signal).name}; stopping…")

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.process is not None
        if child.reader is not None:
            child.reader.join(timeout=2)  # its last lines first, then ours
        uptime = now - child.started_at
        child.quick_failures = 1 if uptime >= HEALTHY_AFTER_SECONDS else child.quick_failures + 1
        delay = restart_delay(child.quick_failures)
        child.restart_at = now + delay
        self._say(
            f"stack | {child.name} exited with code {child.process.returncode} after "
            f"{uptime:.0f} s; restart {child.restarts + 1} in {delay:.0f} s"
        )

    def _stop_all(self, children: list[Child]) -> None:
        running = [child for child in children if child.running]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{child.name} did not stop within {STOP_TIMEOUT_SECONDS:.0f}s; killing.")
                child.process.kill()
                child.process.wait()
        for child in children:
            if child.reader is not None:
                child.reader.join(timeout=2)
