"""`make test` on any machine: use PostgreSQL and Redis if they answer, else start throwaway ones.

    python -m tests.throwaway_services -- python -m pytest …

For each of DATABASE_URL and REDIS_URL (defaults from the Makefile: 127.0.0.1:5432 and :6379):

- set by the caller: used as it is (a wrong URL fails the run with the tests' own message);
- unset and the default answers: the default is used;
- unset, not answering, but the server is installed: a throwaway instance is started in a
  temporary directory, on the default port if it is free or else on a free one, and stopped
  (its directory removed) when the tests end, however they end;
- unset and not installed: one line says what to install, and the run stops (exit 2).

PostgreSQL refuses to run as root; as root the throwaway cluster runs as the `postgres`
system user (Debian's package creates it).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
INSTALL_HINT = ("make test needs PostgreSQL and Redis: install them (Debian/Ubuntu: "
                "apt-get install postgresql redis-server) or set DATABASE_URL and REDIS_URL.")


class Missing(Exception):
    """A server is needed, not running and not installed."""


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def port_or_free(host: str, port: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
            return port
        except OSError:
            pass
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = (netloc[-1].rsplit(":", 1)[0]) or "127.0.0.1"
    auth = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{auth}{host}:{port}"))


def wait_until(check: object, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not check():  # type: ignore[operator]
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


@contextlib.contextmanager
def throwaway_postgres(port: int) -> Iterator[None]:
    bindir = postgres_bindir()
    if bindir is None:
        raise Missing("postgresql")
    as_user: dict[str, object] = {}
    root = Path(tempfile.mkdtemp(prefix="lpo-test-postgres-"))
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise Missing("postgresql (and its `postgres` system user)") from None
        os.chown(root, account.pw_uid, account.pw_gid)
        # The server itself runs as that user (not under runuser), so our signals reach it.
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    data, log = root / "data", root / "postgres.log"
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",  # noqa: S603
                        "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, cwd=root, **as_user)  # type: ignore[call-overload]
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - the installed server, our arguments
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                 "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=root,
                **as_user)  # type: ignore[call-overload]
        try:
            wait_until(lambda: answers("127.0.0.1", port) and ready_postgres(port),
                       "PostgreSQL", process, log)
            yield
        finally:
            stop(process, signal.SIGINT)  # fast shutdown
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ready_postgres(port: int) -> bool:
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                        connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


# --- Redis ------------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_redis(port: int) -> Iterator[None]:
    server = shutil.which("redis-server")
    if server is None:
        raise Missing("redis-server")
    root = Path(tempfile.mkdtemp(prefix="lpo-test-redis-"))
    log = root / "redis.log"
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - the installed server, our arguments
                [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(root)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: answers("127.0.0.1", port), "Redis", process, log)
            yield
        finally:
            stop(process, signal.SIGTERM)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- main -------------------------------------------------------------------------------------


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def run(command: Sequence[str], *, database_default: str, redis_default: str) -> int:
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        started: list[str] = []
        try:
            if not env.get("DATABASE_URL"):
                host, port = _host_port(database_default, 5432)
                url = database_default
                if not answers(host, port):
                    port = port_or_free("127.0.0.1", port)
                    stack.enter_context(throwaway_postgres(port))
                    url = with_port(database_default, port)
                    started.append(f"PostgreSQL on :{port}")
                env["DATABASE_URL"] = url
            if not env.get("REDIS_URL"):
                host, port = _host_port(redis_default, 6379)
                url = redis_default
                if not answers(host, port):
                    port = port_or_free("127.0.0.1", port)
                    stack.enter_context(throwaway_redis(port))
                    url = with_port(redis_default, port)
                    started.append(f"Redis on :{port}")
                env["REDIS_URL"] = url
        except Missing:
            print(INSTALL_HINT, file=sys.stderr)
            return 2
        if started:
            print(f"Started throwaway {' and '.join(started)} for this run; stopped at the end.",
                  file=sys.stderr)
        # Our own SIGTERM ends the tests and still runs the clean-up above.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        return subprocess.call(list(command), env=env)  # noqa: S603 - the caller's command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-default", required=True)
    parser.add_argument("--redis-default", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    return run(command, database_default=args.database_default,
               redis_default=args.redis_default)


if __name__ == "__main__":
    sys.exit(main())
