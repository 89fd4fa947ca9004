"""Start, stop and describe the sandbox's processes.

Each service runs as its own process in its own session, so `down` can stop exactly the process
groups `up` started (their PIDs and command lines are kept in pids.json and checked before any
signal is sent). Everything a client needs is written into the sandbox directory:

    kubeconfig         the Kubernetes API emulator, CA-verified, bearer token
    endpoints.json     every service's URL
    credentials.json   tokens, keys and passwords (mode 0600)
    env                the same as shell variables, for the inventory and for humans
    state/             each service's snapshot, so a restart keeps what was deployed
    logs/              each service's output
"""

import json
import os
import secrets
import signal
import ssl
import sys
import time
from pathlib import Path

import yaml

from tests.sandbox import aws, common, gcp
from tests.sandbox.kube import kubeconfig, tls
from tests.sandbox.processes import REPO, http_ok, port_open, spawn

DEFAULTS = Path(__file__).with_name("defaults.yml")
DEFAULT_PORT_BASE = 16000
# Offsets inside the port block; fixed so a restart keeps every URL the state refers to.
PORT_OFFSETS = {"aws": 0, "keycloak": 80, "gcp": 90, "gcs": 91, "kube": 443}
START_TIMEOUT = 60


def sandbox_dir(explicit=None):
    return Path(explicit or os.environ.get("SANDBOX_DIR") or REPO / ".sandbox").resolve()


def _write_private(path, text):
    """Write a file only its owner can read: it carries credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _load_settings(config_file):
    settings = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8")) or {}
    if config_file:
        settings = common.merge(settings, yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {})
    return settings


def _process_alive(pid, marker):
    """True when pid runs and its command line still carries marker (PIDs get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


class Sandbox:
    """One sandbox instance, identified by its directory."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.pids_file = self.dir / "pids.json"
        self.layout_file = self.dir / "layout.json"

    # --- layout: ports, secrets and TLS material are made once and kept, so restarts keep URLs and tokens
    def _layout(self, port_base):
        if self.layout_file.exists():
            layout = json.loads(self.layout_file.read_text(encoding="utf-8"))
            if port_base is not None and port_base != layout["port_base"]:
                raise SystemExit(f"{self.dir} was made with --port-base {layout['port_base']}; "
                                 f"run `down` and remove the directory to change it")
            return layout
        base = DEFAULT_PORT_BASE if port_base is None else port_base
        layout = {
            "port_base": base,
            "ports": {name: base + offset for name, offset in PORT_OFFSETS.items()},
            "kube_token": secrets.token_urlsafe(32),
        }
        _write_private(self.layout_file, json.dumps(layout, indent=2))
        return layout

    def _tls(self):
        tls_dir = self.dir / "tls"
        if not (tls_dir / "ca.crt").exists():
            tls.generate(tls_dir)
        return {"ca": tls_dir / "ca.crt", "cert": tls_dir / "server.crt", "key": tls_dir / "server.key"}

    # --- processes
    def _service_commands(self, layout, settings, tls_files):
        ports = layout["ports"]
        state = self.dir / "state"
        state.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        token_file = self.dir / "kube-token"
        _write_private(token_file, layout["kube_token"])
        commands = {}
        for name in ("kube", "keycloak", "gcp"):
            config_path = self.dir / f"config-{name}.json"
            config_path.write_text(json.dumps(settings.get(name, {}), indent=2), encoding="utf-8")
            commands[name] = [python, "-m", f"tests.sandbox.{name}", "--host", "127.0.0.1", "--port", str(ports[name]),
                              "--state", str(state / f"{name}.json"), "--config", str(config_path)]
        commands["kube"] += ["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
                             "--token-file", str(token_file)]
        commands["gcp"] += ["--admin-key-out", str(self.dir / "gcp-admin-key.json")]
        gcs_data = state / "gcs"
        gcs_data.mkdir(exist_ok=True)
        commands["gcs"] = gcp.gcs_command("127.0.0.1", ports["gcs"], str(gcs_data))
        aws_state = state / "aws"
        aws_state.mkdir(exist_ok=True)
        commands["aws"] = aws.command("127.0.0.1", ports["aws"])
        return commands

    def _health(self, name, layout, context):
        port = layout["ports"][name]
        if name == "kube":
            return http_ok(f"https://127.0.0.1:{port}/_sandbox/health", context)
        if name in ("keycloak", "gcp"):
            return http_ok(f"http://127.0.0.1:{port}/_sandbox/health")
        # moto and the storage emulator: records every request (moto), so only the port is probed.
        return port_open(port)

    def _running(self):
        if not self.pids_file.exists():
            return {}
        recorded = json.loads(self.pids_file.read_text(encoding="utf-8"))
        return {name: entry for name, entry in recorded.items() if _process_alive(entry["pid"], entry["marker"])}

    def up(self, port_base=None, config_file=None):
        self.dir.mkdir(parents=True, exist_ok=True)
        layout = self._layout(port_base)
        running = self._running()
        if running and set(running) == set(PORT_OFFSETS):
            print(f"sandbox already running in {self.dir}")
            return self.status()
        if running:
            self.down()
        for name, port in layout["ports"].items():
            if port_open(port):
                raise SystemExit(f"port {port} for {name} is taken by a process this sandbox did not start")
        settings = _load_settings(config_file)
        tls_files = self._tls()
        context = ssl.create_default_context(cafile=str(tls_files["ca"]))
        commands = self._service_commands(layout, settings, tls_files)
        replay_aws = aws.has_recording(self.dir / "state" / "aws")
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        started = {}
        processes = {}
        try:
            for name, command in commands.items():
                env = aws.environment(self.dir / "state" / "aws") if name == "aws" else None
                process = spawn(command, logs / f"{name}.log", env, start_new_session=True)
                processes[name] = process
                started[name] = {"pid": process.pid, "marker": " ".join(command[-4:]), "command": command}
                self.pids_file.write_text(json.dumps(started, indent=2), encoding="utf-8")
            deadline = time.monotonic() + START_TIMEOUT
            pending = set(started)
            while pending and time.monotonic() < deadline:
                for name in list(pending):
                    if processes[name].poll() is not None:
                        raise RuntimeError(f"{name} exited during start-up (exit {processes[name].returncode})")
                    if self._health(name, layout, context):
                        pending.discard(name)
                time.sleep(0.2)
            if pending:
                raise RuntimeError(f"not healthy within {START_TIMEOUT}s: {', '.join(sorted(pending))}")
            issuer = aws.restore_or_seed(f"http://127.0.0.1:{layout['ports']['aws']}", replay_aws)
        except (RuntimeError, OSError) as error:
            print(f"sandbox failed to start: {error}", file=sys.stderr)
            for name in started:
                log_tail = (logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
                print(f"--- {name} log (tail) ---\n{log_tail}", file=sys.stderr)
            self.down()
            return 1
        self._write_client_files(layout, tls_files, issuer, settings)
        print(f"sandbox up in {self.dir}")
        return self.status()

    def down(self):
        if not self.pids_file.exists():
            print(f"no sandbox running in {self.dir}")
            return 0
        recorded = json.loads(self.pids_file.read_text(encoding="utf-8"))
        ours = {name: entry for name, entry in recorded.items() if _process_alive(entry["pid"], entry["marker"])}
        for entry in ours.values():
            os.killpg(entry["pid"], signal.SIGTERM)
        # SIGTERM lets each emulator write its state snapshot; only a hung one is killed.
        deadline = time.monotonic() + 15
        for name, entry in ours.items():
            while _process_alive(entry["pid"], entry["marker"]) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _process_alive(entry["pid"], entry["marker"]):
                os.killpg(entry["pid"], signal.SIGKILL)
            print(f"stopped {name} (pid {entry['pid']})")
        self.pids_file.unlink()
        return 0

    def status(self):
        running = self._running()
        if not self.layout_file.exists():
            print(f"no sandbox in {self.dir}")
            return 3
        layout = json.loads(self.layout_file.read_text(encoding="utf-8"))
        context = ssl.create_default_context(cafile=str(self.dir / "tls" / "ca.crt"))
        healthy = True
        for name in PORT_OFFSETS:
            port = layout["ports"][name]
            if name not in running:
                state, healthy = "stopped", False
            elif self._health(name, layout, context):
                state = f"running (pid {running[name]['pid']})"
            else:
                state, healthy = "unhealthy", False
            print(f"{name:9} 127.0.0.1:{port:<6} {state}")
        return 0 if healthy else 3

    # --- what clients read
    def _write_client_files(self, layout, tls_files, issuer, settings):
        ports = layout["ports"]
        kube_url = f"https://127.0.0.1:{ports['kube']}"
        aws_url = f"http://127.0.0.1:{ports['aws']}"
        keycloak_url = f"http://127.0.0.1:{ports['keycloak']}"
        gcp_url = f"http://127.0.0.1:{ports['gcp']}"
        gcs_url = f"http://127.0.0.1:{ports['gcs']}"
        kubeconfig_path = self.dir / "kubeconfig"
        kubeconfig.write(kubeconfig_path, kube_url, tls_files["ca"], layout["kube_token"])
        os.chmod(kubeconfig_path, 0o600)
        gcp_endpoints = gcp.endpoints(gcp_url, gcs_url)
        endpoints = {
            "kube": {"url": kube_url, "kubeconfig": str(kubeconfig_path), "ca": str(tls_files["ca"]),
                     "admin": f"{kube_url}/_sandbox"},
            "aws": dict(aws.endpoints(aws_url), eks_oidc_issuer=issuer),
            "keycloak": {"url": keycloak_url, "admin": f"{keycloak_url}/_sandbox"},
            "gcp": dict(gcp_endpoints, admin=f"{gcp_url}/_sandbox"),
        }
        (self.dir / "endpoints.json").write_text(json.dumps(endpoints, indent=2), encoding="utf-8")
        keycloak_settings = settings.get("keycloak", {})  # what the Keycloak emulator was started with
        credentials = {
            "kube": {"token": layout["kube_token"]},
            "aws": aws.credentials(),
            "keycloak": {"admin_username": keycloak_settings.get("admin_username", "admin"),
                         "admin_password": keycloak_settings.get("admin_password", "admin")},
            "gcp": {"admin_key_file": str(self.dir / "gcp-admin-key.json")},
        }
        _write_private(self.dir / "credentials.json", json.dumps(credentials, indent=2))
        env = {
            "SANDBOX_DIR": str(self.dir),
            "KUBECONFIG": str(kubeconfig_path),
            "K8S_AUTH_KUBECONFIG": str(kubeconfig_path),
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_ACCESS_KEY_ID": credentials["aws"]["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws"]["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": aws.REGION,
            "SANDBOX_EKS_CLUSTER": aws.CLUSTER_NAME,
            "SANDBOX_EKS_OIDC_ISSUER": issuer,
            "KEYCLOAK_URL": keycloak_url,
            "KEYCLOAK_ADMIN": credentials["keycloak"]["admin_username"],
            "KEYCLOAK_ADMIN_PASSWORD": credentials["keycloak"]["admin_password"],
            "GOOGLE_APPLICATION_CREDENTIALS": credentials["gcp"]["admin_key_file"],
            "STORAGE_EMULATOR_HOST": gcs_url,
        }
        for api, url in gcp_endpoints.items():
            env[f"SANDBOX_GCP_{api.upper()}_ENDPOINT"] = url
        _write_private(self.dir / "env", "".join(f"{key}={value}\n" for key, value in env.items()))
