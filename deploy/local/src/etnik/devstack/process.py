"""Child processes of the stack: own process group, log file, readiness wait and clean stop."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class ProcessFailedError(RuntimeError):
    """A child process exited, or did not become ready, in time."""


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child if we die (even by SIGKILL)."""
    library = ctypes.util.find_library("c")
    if library is None or not hasattr(ctypes, "CDLL"):
        return None
    try:
        prctl = ctypes.CDLL(library, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


_PDEATHSIG_HOOK = _parent_death_signal()


class ManagedProcess:
    """One server process, in its own session, with stdout and stderr appended to a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.user = user  # run as this account (PostgreSQL refuses root)
        self.argv = [str(part) for part in argv]
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id while started (also after it exited, until stop())."""
        return self._popen.pid if self._popen else None

    def is_running(self) -> bool:
        """True if started and not exited."""
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        """Exit code if it has exited, else None."""
        return self._popen.poll() if self._popen else None

    def start(self) -> None:
        """Start the process; its output is appended to the log file."""
        if self.is_running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n=== {stamp} etnik-dev starts: {' '.join(self.argv)}\n".encode())
            log.flush()
            # The parent-death signal is tied to the thread that forks: only ask for it from
            # the main thread, whose end is the end of the process.
            hook = (
                _PDEATHSIG_HOOK if threading.current_thread() is threading.main_thread() else None
            )
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # Ctrl-C reaches us only; stop() ends the whole group
                preexec_fn=hook,
                user=self.user,
            )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout` seconds, and reap it."""
        popen = self._popen
        if popen is None:
            return
        group = popen.pid  # start_new_session made the child the leader of its own group
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        # Wait for the leader and for its children (nginx workers, for one) to be gone.
        while (popen.poll() is None or _group_alive(group)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        popen.wait()
        self._popen = None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log file."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], *, what: str, timeout: float) -> None:
        """Poll `ready` until true; raise with the log tail if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            code = self.exit_code()
            if self._popen is None or code is not None:
                raise ProcessFailedError(
                    f"{self.name} exited (code {code}) before {what}; "
                    f"end of {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ProcessFailedError(
                    f"{self.name} did not become ready ({what}) within {timeout:.0f} s; "
                    f"end of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.2)


def _group_alive(group: int) -> bool:
    """True if a process of this group still runs (zombies, which wait to be reaped, do not)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            # Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
            state, _ppid, pgrp = stat_file.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        if int(pgrp) == group and state != "Z":
            return True
    return False


def kill_group_if_matches(pid: int, argv: Sequence[str], timeout: float = 10.0) -> bool:
    """End a leftover process group of an earlier run, if `pid` still runs exactly `argv`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        return False
    if [part.decode(errors="replace") for part in cmdline] != list(argv):
        return False  # the pid was reused by something else: leave it alone
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True
