# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small Kubernetes REST client: kubeconfig resolution by the kubernetes library, requests of its own.

The collection's modules ask the API few, precise questions (a version, a list by label, a pod's log),
so this client speaks plain REST with paths it knows rather than running discovery, counts every
request it makes, and retries transient failures (429, 5xx, dropped connections) with jittered
exponential backoff inside a bounded budget. It raises the errors of ``kube.errors``; it never fails a
module itself.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from urllib.parse import quote, urlencode

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.retry import Retry
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.errors import (
    AuthError,
    Conflict,
    KubeError,
    NotFound,
    Transient,
)

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
    KUBERNETES_IMPORT_TRACEBACK = None
except ImportError as import_error:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = import_error
    KUBERNETES_IMPORT_TRACEBACK = traceback.format_exc()

TRANSIENT_STATUS = (429, 500, 502, 503, 504)
# Six attempts within 60 seconds; the backoff window before retry n is uniform(0, min(8, 0.4 * 2**n)).
MAX_ATTEMPTS = 6
BACKOFF_BASE = 0.4
BACKOFF_CAP = 8.0
BUDGET_SECONDS = 60.0

# Resource paths of the kinds the collection reads, so no discovery round trip is needed.
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Secret": ("/api/v1", "secrets", True),
    "Pod": ("/api/v1", "pods", True),
    "Service": ("/api/v1", "services", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}


@dataclasses.dataclass(frozen=True)
class ConnectionSettings:
    """The module's connection options (doc fragment mlplatform.selfhosted.kube)."""

    kubeconfig: object = None  # a path, or a kubeconfig as a dict
    context: str = None
    host: str = None
    api_key: str = None
    ca_cert: str = None
    validate_certs: bool = True


def resolve_configuration(settings):
    """A kubernetes.client.Configuration from kubeconfig and explicit options (explicit ones win)."""
    configuration = k8s_client.Configuration()
    if settings.kubeconfig or not settings.host:
        try:
            if isinstance(settings.kubeconfig, dict):
                k8s_config.load_kube_config_from_dict(settings.kubeconfig, context=settings.context,
                                                      client_configuration=configuration)
            else:
                k8s_config.load_kube_config(config_file=settings.kubeconfig, context=settings.context,
                                            client_configuration=configuration)
        except (ConfigException, OSError) as error:
            if not settings.host:
                raise KubeError("cannot load kubeconfig %s: %s" % (settings.kubeconfig or "(default)", error))
    if settings.host:
        configuration.host = settings.host
    if settings.ca_cert:
        configuration.ssl_ca_cert = settings.ca_cert
    if not settings.validate_certs:
        configuration.verify_ssl = False
    return configuration


class KubeClient:
    """Counted, retried REST calls against one API server (core.kube_client checks the library is there)."""

    def __init__(self, settings, sleep=time.sleep, clock=time.monotonic):
        self.configuration = resolve_configuration(settings)
        self._explicit_token = settings.api_key
        self.host = self.configuration.host.rstrip("/")
        pool_args = {"cert_reqs": "CERT_REQUIRED" if self.configuration.verify_ssl else "CERT_NONE", "retries": False}
        if self.configuration.verify_ssl and self.configuration.ssl_ca_cert:
            pool_args["ca_certs"] = self.configuration.ssl_ca_cert
        if self.configuration.cert_file:
            pool_args["cert_file"] = self.configuration.cert_file
            pool_args["key_file"] = self.configuration.key_file
        if not self.configuration.verify_ssl:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._pool = urllib3.PoolManager(**pool_args)
        self._retry = Retry(MAX_ATTEMPTS, base=BACKOFF_BASE, cap=BACKOFF_CAP, budget=BUDGET_SECONDS, sleep=sleep, clock=clock)
        self.request_count = 0

    # --- transport
    def _headers(self, content_type=None):
        headers = {"Accept": "application/json"}
        # auth_settings() knows the key name of the installed client version and runs exec-plugin refresh hooks.
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"].title()] = setting["value"]
        if self._explicit_token:
            headers["Authorization"] = "Bearer %s" % self._explicit_token
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(self, method, path, query=None, body=None, content_type="application/json", raw=False):
        """One API call, retried while it fails transiently; returns decoded JSON (or text when raw)."""
        url = self.host + path + ("?" + urlencode(query) if query else "")
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            response = self._retry.call(lambda: self._send_once(method, url, payload, content_type))
        except Transient as error:
            raise Transient("%s %s: gave up after %d attempts: %s" % (method, path, error.attempts, error.message),
                            status=error.status) from error
        if response.status >= 400:
            raise _error_for(response.status, method, path, _status_message(response))
        text = response.data.decode("utf-8", errors="replace")
        return text if raw else (json.loads(text) if text else {})

    def _send_once(self, method, url, payload, content_type):
        """One attempt's response; Transient (with the server's Retry-After) for 429, 5xx and dropped connections."""
        self.request_count += 1
        try:
            response = self._pool.request(method, url, body=payload, timeout=urllib3.Timeout(connect=10, read=60),
                                          headers=self._headers(content_type if payload is not None else None))
        except urllib3.exceptions.HTTPError as error:
            raise Transient("connection to %s failed: %s" % (self.host, error)) from error
        if response.status in TRANSIENT_STATUS:
            raise Transient(_status_message(response), status=response.status,
                            retry_after=response.headers.get("Retry-After"))
        return response

    # --- paths and reads
    @staticmethod
    def path(kind, namespace=None, name=None, subresource=None):
        try:
            prefix, plural, namespaced = KINDS[kind]
        except KeyError:
            raise KubeError("kind %s is not known to this client" % kind)
        parts = [prefix]
        if namespaced and namespace:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(plural)
        if name:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    def version(self):
        return self.request("GET", "/version")

    def get(self, kind, name, namespace=None):
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", self.path(kind, namespace, name))
        except NotFound:
            return None

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        query = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        return self.request("GET", self.path(kind, namespace), query=query).get("items", [])

    def pod_log(self, namespace, pod, container=None, tail_lines=None):
        query = {}
        if container:
            query["container"] = container
        if tail_lines:
            query["tailLines"] = str(tail_lines)
        return self.request("GET", self.path("Pod", namespace, pod, "log"), query=query, raw=True)


def _status_message(response):
    text = response.data.decode("utf-8", errors="replace")
    try:
        status = json.loads(text)
    except ValueError:
        return text.strip()[:500] or response.reason
    if isinstance(status, dict):
        return status.get("message") or status.get("reason") or text[:500]
    return text[:500]


def _error_for(status, method, path, message):
    text = "%s %s: %s (HTTP %d)" % (method, path, message, status)
    if status == 404:
        return NotFound(text, status, "NotFound")
    if status == 409:
        return Conflict(text, status, "Conflict")
    if status in (401, 403):
        return AuthError(text, status, "Unauthorized" if status == 401 else "Forbidden")
    return KubeError(text, status)
