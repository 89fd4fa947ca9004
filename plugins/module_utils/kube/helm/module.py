# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""helm_release_checked's glue between AnsibleModule and the runner: options in, result or failure out."""

from __future__ import annotations

import os

try:
    import yaml
    HAS_YAML = True
except ImportError:  # PyYAML comes with ansible-core on the controller, but is optional for module code
    HAS_YAML = False

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.client import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    KubeClient,
    KubeError,
)
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.connection import connection_settings
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm import cli, sdk
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.engine import HelmEngineError, ReleaseSpec
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.runner import ReleaseFailure, ReleaseRunner
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.values import merge_values
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.versions import VersionRangeError, parse_range


def select_engine(module, settings):
    """engine=auto: a helm >= 3.8 binary (binary_path or PATH) when there is one, else the Go SDK."""
    choice = module.params["engine"]
    binary = module.params.get("binary_path") or (module.get_bin_path("helm") if choice != "sdk" else None)
    if choice in ("auto", "cli") and binary:
        try:
            version = cli.helm_version(binary, module.run_command)
        except HelmEngineError as error:
            if choice == "cli":
                raise
            module.warn("ignoring %s: %s; using the Helm SDK" % (binary, error))
        else:
            if version >= cli.MIN_VERSION:
                return cli.CliEngine(binary, settings, module.run_command)
            if choice == "cli":
                raise HelmEngineError("%s is Helm %s; engine=cli needs 3.8 or newer" % (binary, ".".join(map(str, version))))
    if choice == "cli":
        raise HelmEngineError("engine=cli: no helm binary at binary_path or on PATH")
    return sdk.SdkEngine(settings)


def leaf_paths(values, prefix=""):
    """Dotted paths of every leaf of a values mapping (the secret_values, masked wherever shown)."""
    paths = []
    for key, value in values.items():
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        paths += leaf_paths(value, path) if isinstance(value, dict) else [path]
    return paths


def load_values(module):
    layers = []
    for path in module.params.get("values_files") or []:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as handle:
                layers.append(yaml.safe_load(handle) or {})
        except (OSError, yaml.YAMLError) as error:
            module.fail_json(msg="cannot read values file %s: %s" % (path, error))
        if not isinstance(layers[-1], dict):
            module.fail_json(msg="values file %s does not hold a mapping" % path)
    layers.append(module.params.get("values") or {})
    layers.append(module.params.get("secret_values") or {})
    return merge_values(*layers)


def run_module(module):
    params = module.params
    if not HAS_KUBERNETES:
        module.fail_json(msg="%s: %s" % (missing_required_lib("kubernetes"), KUBERNETES_IMPORT_ERROR))
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    if params["state"] == "present" and not params.get("chart_ref"):
        # required_if counts an option given as null as present; a release needs a chart all the same.
        module.fail_json(msg="chart_ref is required when state is present")
    preflight = params.get("preflight") or {}
    if preflight.get("kube_version"):
        try:
            parse_range(preflight["kube_version"])
        except VersionRangeError as error:
            module.fail_json(msg="preflight.kube_version: %s" % error)
    if params["transient_attempts"] < 1:
        module.fail_json(msg="transient_attempts must be at least 1, got %d" % params["transient_attempts"])
    settings = connection_settings(params)
    spec = ReleaseSpec(params["name"], params["release_namespace"], params.get("chart_ref"), load_values(module),
                       chart_version=params.get("chart_version"), chart_repo_url=params.get("chart_repo_url"),
                       create_namespace=params["create_namespace"], wait=False, timeout=params["wait_timeout"])
    options = {
        "state": params["state"],
        "atomic": params["atomic"],
        "transient_attempts": params["transient_attempts"],
        "wait": params["wait"],
        "wait_timeout": params["wait_timeout"],
        "preflight": preflight,
        "validation_jobs": params.get("validation_jobs") or [],
        "secret_paths": (params.get("values_secret_paths") or []) + leaf_paths(params.get("secret_values") or {}),
    }
    engine = kube = runner = None
    try:
        kube = KubeClient(settings)
        engine = select_engine(module, settings)
        runner = ReleaseRunner(engine, kube, spec, options, check_mode=module.check_mode, diff_mode=module._diff)
        result = runner.run()
    except ReleaseFailure as failure:
        result = dict(runner.result if runner else {}, **failure.details)
        result["api_requests"] = kube.request_count if kube else 0
        module.fail_json(msg=str(failure), **result)
    except (HelmEngineError, KubeError) as error:
        module.fail_json(msg=str(error), api_requests=kube.request_count if kube else 0)
    finally:
        if engine is not None and hasattr(engine, "close"):
            engine.close()
    result["engine"] = engine.name
    module.exit_json(**result)
