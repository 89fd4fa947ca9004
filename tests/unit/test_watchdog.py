"""The module watchdog: which process is the run, and a module stops once that process is gone or replaced."""

import os
import threading

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common import watchdog


def fake_proc(tmp_path, processes):
    """processes: pid -> (parent, argv, start time[, state]) as /proc shows them."""
    for pid, (parent, argv, started, *state) in processes.items():
        entry = tmp_path / str(pid)
        entry.mkdir(exist_ok=True)
        fields = [state[0] if state else "S", str(parent)] + ["0"] * 17 + [str(started)] + ["0"] * 5
        (entry / "stat").write_text("%d (%s) %s\n" % (pid, os.path.basename(argv[0])[:15], " ".join(fields)))
        (entry / "cmdline").write_bytes(b"\0".join(arg.encode() for arg in argv) + b"\0")
    return str(tmp_path)


def a_local_run(me):
    """pytest → ansible-playbook → its forked worker → sh → the module (`me`)."""
    return {
        50: (1, ["/usr/bin/python3", "-m", "pytest"], 10),
        100: (50, ["/venv/bin/python3.11", "/venv/bin/ansible-playbook", "site.yml"], 20),
        200: (100, ["/venv/bin/python3.11", "/venv/bin/ansible-playbook", "site.yml"], 30),
        300: (200, ["/bin/sh", "-c", "python3 AnsiballZ_helm_release_checked.py"], 40),
        me: (300, ["/venv/bin/python3.11", "AnsiballZ_helm_release_checked.py"], 41),
    }


def test_the_run_is_the_topmost_ansible_process_not_its_worker(tmp_path):
    proc = fake_proc(tmp_path, a_local_run(400))
    assert watchdog.find_controller(400, proc) == (100, "20")


def test_an_ansible_binary_without_a_python_in_front_counts(tmp_path):
    proc = fake_proc(tmp_path, {10: (1, ["ansible", "all", "-m", "ping"], 5), 11: (10, ["python3", "x.py"], 6)})
    assert watchdog.find_controller(11, proc) == (10, "5")


def test_nothing_is_watched_without_an_ansible_ancestor(tmp_path):
    # A module on a remote host: sshd → sh → python; ansible-runner is not the run either.
    proc = fake_proc(tmp_path, {10: (1, ["sshd: admin"], 5), 11: (10, ["ansible-runner", "run"], 6), 12: (11, ["python3"], 7)})
    assert watchdog.find_controller(12, proc) is None
    assert watchdog.find_controller(12, str(tmp_path / "missing")) is None


def test_children_lists_every_descendant_and_skips_zombies(tmp_path):
    proc = fake_proc(tmp_path, {2: (1, ["a"], 1), 3: (2, ["b"], 1), 4: (3, ["c"], 1), 5: (2, ["d"], 1, "Z"), 6: (1, ["e"], 1)})
    assert watchdog.children(2, proc) == [3, 4]


def watch_until_stopped(tmp_path, change):
    processes = a_local_run(os.getpid())
    proc = fake_proc(tmp_path, processes)
    stopped = threading.Event()
    seen = []
    thread = watchdog.watch_controller(poll=0.01, proc=proc, stop=lambda pid: (seen.append(pid), stopped.set()))
    assert thread is not None and thread.daemon
    assert not stopped.wait(0.1)  # the run is alive: nothing happens
    change(tmp_path)
    assert stopped.wait(5)
    thread.join(5)
    return seen


def test_the_module_stops_when_the_run_is_gone(tmp_path):
    def kill(root):
        for name in ("stat", "cmdline"):
            (root / "100" / name).unlink()
    assert watch_until_stopped(tmp_path, kill) == [100]


def test_the_module_stops_when_the_runs_pid_belongs_to_another_process(tmp_path):
    assert watch_until_stopped(tmp_path, lambda root: fake_proc(root, {100: (1, ["bash"], 99)})) == [100]


def test_the_module_stops_when_the_run_is_a_zombie(tmp_path):
    assert watch_until_stopped(tmp_path, lambda root: fake_proc(
        root, {100: (50, ["/venv/bin/ansible-playbook"], 20, "Z")})) == [100]


def test_no_thread_without_a_run_to_watch(tmp_path):
    assert watchdog.watch_controller(proc=fake_proc(tmp_path, {1: (0, ["init"], 1)})) is None
