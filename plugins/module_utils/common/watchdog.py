# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stop a module whose ansible-playbook was killed.

A module that runs on the controller (connection local) is a descendant of the ansible-playbook process. When
that process is killed with SIGKILL it cannot stop its workers, so a long module (a Helm install waiting for its
resources) went on to the end and wrote to a cluster nobody was watching any more. ``watch_controller`` starts a
daemon thread that looks every second whether the topmost ansible process above this one still runs (the same
pid with the same start time); when it is gone, the module stops its own child processes and exits at once.
What it leaves half done is what a kill leaves: helm_release_checked recovers a release left pending on the
next run (``recover_pending``).

On a host without /proc, or when no ansible process is among the ancestors (a module run on a remote host,
whose SSH session ends with the controller), nothing is watched.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PROC = "/proc"
POLL_SECONDS = 1.0
# The commands whose process is the run; a worker forked from ansible-playbook has its command line too, so
# the topmost one is the run itself.
CONTROLLER_COMMANDS = frozenset(("ansible-playbook", "ansible", "ansible-console", "ansible-pull"))


def _stat(pid, proc=PROC):
    """(parent pid, start time) of a running process, or None when it is gone or a zombie."""
    try:
        with open(os.path.join(proc, str(pid), "stat"), encoding="utf-8", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command come: state, ppid, ... and the start time as the 20th field.
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), fields[19]


def _is_controller(pid, proc=PROC):
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return False
    # ansible-playbook ..., or python .../ansible-playbook ...
    names = [os.path.basename(arg.decode("utf-8", "replace")) for arg in argv[:2]]
    return any(name in CONTROLLER_COMMANDS for name in names)


def find_controller(pid=None, proc=PROC):
    """(pid, start time) of the topmost ansible process above `pid` (default: this process), or None."""
    found = None
    current = _stat(pid or os.getpid(), proc)
    while current is not None:
        parent = current[0]
        if parent <= 1:
            break
        current = _stat(parent, proc)
        if current is not None and _is_controller(parent, proc):
            found = (parent, current[1])
    return found


def children(pid, proc=PROC):
    """Every descendant of `pid`, children first."""
    below = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            stat = _stat(int(entry), proc)
            if stat is not None:
                below.setdefault(stat[0], []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        for child in below.get(pending.pop(0), []):
            found.append(child)
            pending.append(child)
    return found


def _stop(controller_pid):
    sys.stderr.write("mlplatform.selfhosted: ansible-playbook (pid %d) is gone; stopping this module\n" % controller_pid)
    sys.stderr.flush()
    for child in children(os.getpid()):
        try:
            os.kill(child, signal.SIGTERM)
        except OSError:
            pass
    os._exit(1)  # pylint: disable=protected-access


def watch_controller(poll=POLL_SECONDS, proc=PROC, stop=_stop):
    """Start the watch; returns the thread, or None when there is nothing to watch."""
    controller = find_controller(proc=proc)
    if controller is None:
        return None
    pid, started = controller

    def watch():
        while True:
            time.sleep(poll)
            stat = _stat(pid, proc)
            if stat is None or stat[1] != started:
                stop(pid)
                return

    thread = threading.Thread(target=watch, name="mlplatform-controller-watch", daemon=True)
    thread.start()
    return thread
