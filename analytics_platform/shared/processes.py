"""Server processes for the shared mode: free loopback ports, start, wait until ready, stop.

Every server runs in a session (process group) of its own, so stopping it ends every process it
started and nothing is left behind; its output goes to a log file whose last lines explain a
failed start. Secrets passed in are masked in those lines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or answer; the message says which and ends with its log's last lines."""


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port(offset: int = 0) -> int:
    """A free loopback port; with ``offset``, ``port + offset`` is free too (and below 65536)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port + offset < 65536 and (offset == 0 or port_is_free(port + offset)):
            return port
    raise ServerError("no free loopback port found")


def free_ports(count: int, offset: int = 0) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(offset)
        if port not in ports and port + offset not in ports and port - offset not in ports:
            ports.append(port)
    return ports


def mask(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen
    log: Path
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return mask("\n".join(text.splitlines()[-lines:]), self.secrets)

    def fail(self, what: str) -> ServerError:
        return ServerError(f"{self.name}: {what}. Last lines of {self.log}:\n{self.log_tail()}")

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready()`` until it is true; fail when the process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise self.fail(f"exited with code {self.process.returncode} before {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise self.fail(f"not {what} after {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """``sig`` to the whole process group, then SIGKILL when it has not ended in ``timeout``."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left in the group (the leader may have ended before its children)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def start(name: str, command: list[str], log: Path, *, env: dict[str, str] | None = None, user: str | None = None,
          cwd: Path | None = None, secrets: tuple[str, ...] = ()) -> ServerProcess:
    """Start ``command`` in a new session, output to ``log``; as ``user`` when given (we are root)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
            start_new_session=True, **({"user": user, "group": user, "extra_groups": []} if user else {}),
        )
    return ServerProcess(name, process, log, secrets)
