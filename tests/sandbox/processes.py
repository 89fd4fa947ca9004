"""Start, probe and stop the sandbox's service processes: used by the orchestrator, by each emulator's
testing.py and by the referees."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_ports(count=1):
    """Distinct free loopback ports (all sockets are held open together, so no port repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _index in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def http_ok(url, context=None):
    """True when GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # nosec - loopback only
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def spawn(command, log_path, env=None, **options):
    """Start command in the repository root, where `tests.sandbox...` imports; its output is appended to log_path."""
    env = dict(os.environ if env is None else env, PYTHONPATH=str(REPO))
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, **options)


def wait_until(ready, process, what, log_path, timeout):
    """Poll ready() until it holds; RuntimeError with the log's tail when the process exits or time runs out first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            problem = f"exited with {process.returncode}" if process.returncode is not None else f"not ready within {timeout}s"
            tail = Path(log_path).read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{what} {problem}:\n{tail}")
        time.sleep(0.05)


def terminate(process, timeout=15):
    """SIGTERM, so the service writes its state; SIGKILL when it hangs. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
