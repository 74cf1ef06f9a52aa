#!/usr/bin/env python3
"""One-command setup for people and CI. Needs only Python 3.11+ on the machine.

    python3 dev.py run    create .venv, install, migrate, load demo data, then run
                          web + Celery worker + Celery beat together (Ctrl-C stops all three)
    python3 dev.py test   create .venv, install with test tools, then ruff, mypy and pytest
                          (extra arguments go to pytest; --no-lint skips ruff and mypy)

Without DATABASE_URL / REDIS_URL both use the embedded default (SQLite and a filesystem
broker under var/); with them set, Postgres and Redis.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OMS_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))

DEMO_LOGINS = [
    ("관리자 (admin)", "admin", "oms-admin-2026"),
    ("운영자 (manager)", "manager", "oms-manager-2026"),
    ("작업자 (staff)", "staff", "oms-staff-2026"),
]


def say(message: str) -> None:
    print(f"\033[1;34m==>\033[0m {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PY.exists():
        say(f"creating the virtualenv in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing the project and its dependencies (first run takes a minute)")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    stamp.write_text(digest)


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    run(PY, "manage.py", *args, env=env)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def cmd_run() -> int:
    ensure_venv("")
    if not port_free(HOST, PORT):
        sys.exit(f"Port {PORT} on {HOST} is already in use. Stop what runs there or set PORT=8001.")
    manage("compile_translations")
    manage("migrate", "--no-input")
    manage("load_demo")
    celery = str(BIN / "celery")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> None:
        procs.append(subprocess.Popen(list(args), cwd=ROOT, env=env))

    start(str(PY), "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload")
    start(
        celery,
        "-A",
        "oms",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "-n",
        "worker@%h",
    )
    start(celery, "-A", "oms", "beat", "--loglevel=INFO")

    print()
    say(f"OMS is running at http://{HOST}:{PORT}/   (health: http://{HOST}:{PORT}/healthz)")
    for label, user, password in DEMO_LOGINS:
        print(f"    {label:<18} {user:<8} / {password}")
    print("    Ctrl-C stops the web server, the worker and the scheduler.\n", flush=True)

    def stop(*_: object) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_term(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        failed = [p for p in procs if p.poll() not in (None, 0)]
        if failed:
            say("a process stopped unexpectedly; stopping the others")
        stop()
        return 1 if failed else 0
    except KeyboardInterrupt:
        print()
        say("stopping")
        stop()
        return 0


def cmd_test(args: list[str]) -> int:
    ensure_venv("dev")
    manage("compile_translations")
    lint = "--no-lint" not in args
    pytest_args = [a for a in args if a != "--no-lint"]
    database = os.environ.get("DATABASE_URL", "").split("@")[-1] or "embedded SQLite"
    say(f"database: {database}; broker: {'Redis' if os.environ.get('REDIS_URL') else 'filesystem'}")
    steps = (
        [
            ("ruff check", [str(BIN / "ruff"), "check", "."]),
            ("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."]),
            ("mypy", [str(BIN / "mypy"), "."]),
        ]
        if lint
        else []
    )
    steps.append(("pytest", [str(PY), "-m", "pytest", *pytest_args]))
    for name, command in steps:
        say(name)
        code = subprocess.run(command, cwd=ROOT).returncode
        if code != 0:
            say(f"{name} failed (exit {code})")
            return code
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    command = sys.argv[1]
    if command == "run":
        return cmd_run()
    if command == "setup":
        ensure_venv("dev")
        return 0
    return cmd_test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
