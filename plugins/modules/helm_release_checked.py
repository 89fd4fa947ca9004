#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: helm_release_checked
short_description: Helm release with preflight, plan, post-install checks and rollback
version_added: 0.1.0
description:
  - Installs, upgrades or removes a Helm release, like C(helm upgrade --install) and M(kubernetes.core.helm),
    and wraps it in the checks the install guides ask for by hand.
  - Before anything is written, a preflight checks the Kubernetes version range, CRDs, namespaces and secrets
    the chart needs; a failing preflight changes nothing and names what is missing.
  - Reports a change only when the deployed release differs from the request (chart name, chart version or
    the user-supplied values, compared after normalisation) or is not C(deployed); a C(failed) release is upgraded.
    With an exact O(chart_version) and a O(chart_ref) that names the chart, or a local chart, an unchanged release
    is recognised from Helm's storage alone, without the chart repository or the chart.
  - A release an interrupted run left C(pending-install), C(pending-upgrade) or C(pending-rollback) is recovered
    first, see O(recover_pending).
  - In check mode the release is rendered server-side (dry run) and nothing is stored. With C(--diff), a values
    diff and a per-resource manifest diff are shown, with Secret data and secret-looking values masked.
  - After an install or upgrade, waits for every Deployment, StatefulSet, DaemonSet and Job of the release and for
    O(validation_jobs); with O(atomic), a failed check puts the previous revision back (or removes a first install).
  - Runs the Helm engine as a C(helm) binary (3.8 or newer) or as Helm's Go SDK through helm-python-sdk, so no
    binary is needed.
author:
  - mlplatform.selfhosted maintainers (@mlplatform)
extends_documentation_fragment:
  - mlplatform.selfhosted.kube
  - mlplatform.selfhosted.attributes
attributes:
  check_mode:
    description: Renders the release server-side and reports what would change; stores nothing.
  diff_mode:
    description: Values diff and per-resource manifest diff, secrets masked.
  platform:
    description: Runs on the controller (or any host with the Python requirements).
requirements:
  - kubernetes >= 29.0.0
  - PyYAML
  - helm-python-sdk >= 0.2.2 (for O(engine=sdk), and O(engine=auto) without a helm binary)
options:
  name:
    description: Release name.
    type: str
    required: true
    aliases: [release_name]
  release_namespace:
    description: Namespace of the release (and of its storage records).
    type: str
    required: true
    aliases: [namespace]
  chart_ref:
    description:
      - The chart - a chart name with O(chart_repo_url), C(repo/chart) for a repository added with C(helm repo add),
        a local directory or C(.tgz) path, an C(oci://) reference, or a URL to a chart archive.
      - Required when O(state=present).
    type: str
  chart_repo_url:
    description: Chart repository URL, for a O(chart_ref) that is a chart name.
    type: str
  chart_version:
    description: Chart version to install; the latest when not set (local charts use their own).
    type: str
  chart_repo_username:
    description:
      - User name for the chart repository of O(chart_repo_url), or for the registry of an C(oci://) O(chart_ref)
        (a registry login for this task alone; the user's own Helm configuration is not changed).
      - Requires O(chart_repo_password).
    type: str
  chart_repo_password:
    description:
      - Password or token of O(chart_repo_username). Never logged or shown; Helm reads it on its standard input
        (C(--password-stdin)) or receives it through the SDK, never on a command line or in the environment.
    type: str
  chart_repo_ca_file:
    description:
      - CA bundle (PEM) that verifies the TLS certificate of the chart repository or registry, for a private CA.
      - With O(engine=sdk), an C(oci://) chart needs O(chart_repo_username) for this, since Helm's SDK sets a
        registry's TLS settings at its login.
    type: path
  chart_repo_insecure_skip_tls_verify:
    description:
      - Do not verify the TLS certificate of the chart repository or registry. Prefer O(chart_repo_ca_file).
      - With O(engine=sdk), an C(oci://) chart needs O(chart_repo_username) for this, as for O(chart_repo_ca_file).
    type: bool
    default: false
  chart_cache_dir:
    description:
      - Where the charts pulled from a repository or registry are kept on the host the module runs on, so that a
        repeated plan or install reads them from disk. Only an exact O(chart_version) (such as C(1.11.5)) is cached,
        keyed by the repository URL or C(oci://) reference, the chart and the version, never by credentials; any
        other version (not set, or a range such as C(~1.11)) is pulled for every task, as the latest may change.
      - Defaults to C($XDG_CACHE_HOME/mlplatform.selfhosted/charts), or C(~/.cache/mlplatform.selfhosted/charts);
        created with mode C(0700).
    type: path
  create_namespace:
    description: Create O(release_namespace) when it does not exist (on install).
    type: bool
    default: false
  values:
    description: Values for the release, merged over O(values_files) (maps merge deeply, later wins).
    type: dict
    default: {}
  secret_values:
    description:
      - Values that are credentials (passwords, tokens, keys), merged over O(values). They are never logged,
        and Ansible masks them wherever they would appear in the task's output.
      - O(values) appear in the task's invocation when verbose; keep credentials out of them.
    type: dict
    default: {}
  values_files:
    description: Values files on the controller, applied in order before O(values), like C(helm -f).
    type: list
    elements: path
    default: []
  values_secret_paths:
    description:
      - Dotted paths of values to mask in diffs and results, besides keys whose names look secret (ending in
        password, passwd, passphrase, secret, token, credential(s), or in key after api, private, client, auth, access,
        join, master, enrollment, encryption, signing or secret, in any case - C(joinkey), C(masterKey),
        C(JWT_SECRET_KEY)). Names of Secrets (C(existingSecret), C(secretName)) are shown.
    type: list
    elements: str
    default: []
  state:
    description: Whether the release should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - After an install or upgrade, wait until every Deployment, StatefulSet, DaemonSet and Job of the release
        is ready (as C(kubectl rollout status) and C(kubectl wait --for=condition=complete) judge it).
      - With O(state=absent), wait until Helm has removed the resources.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the checks (and each Helm operation) may take in all.
    type: int
    default: 300
  atomic:
    description:
      - When a check fails after an upgrade, roll back to the previous revision; after a first install,
        uninstall. The task then fails with the failed check, its logs and the rollback result.
    type: bool
    default: false
  transient_attempts:
    description:
      - How many times the install or upgrade is tried while its failures are transient (throttling, server
        errors, connection resets), with jittered exponential backoff between the attempts. At least 1.
      - After a transient failure the stored release is read first, so an operation that went through is not
        repeated.
      - An install makes tens of API requests, any of which can fail with a server error the Kubernetes client
        does not retry itself (500); the default leaves room for a few of those in a row.
    type: int
    default: 6
  recover_pending:
    description:
      - When the release is C(pending-install), C(pending-upgrade) or C(pending-rollback), as a run interrupted
        half-way through a Helm operation leaves it (Helm refuses any other operation then), roll it back to its
        last deployed revision, or uninstall it when it was never deployed, then install or upgrade as requested.
        The result's RV(recovered) says what was done; in check mode, what would be.
      - Helm has no lock, so a pending release may also be another operation still running. This option assumes
        none is running on the release; as a safeguard, a pending record younger than O(wait_timeout) (which bounds
        every Helm operation this module starts) is left alone and the task fails, saying when to run it again.
      - When C(false), the task fails on a pending release, naming the revision to roll back to (or that it must
        be uninstalled).
    type: bool
    default: true
  preflight:
    description: Read-only checks run before anything is changed; all problems are reported together.
    type: dict
    suboptions:
      kube_version:
        description: Supported Kubernetes versions, such as C(>=1.24,<1.33); each clause compares as many components as it names.
        type: str
      required_crds:
        description: Names of CustomResourceDefinitions that must exist (C(plural.group)).
        type: list
        elements: str
      required_namespaces:
        description: Namespaces that must exist.
        type: list
        elements: str
      required_secrets:
        description: Secrets that must exist, as C(namespace/name) or C(name) (in O(release_namespace)).
        type: list
        elements: str
  validation_jobs:
    description:
      - Jobs that must complete after an install or upgrade, such as a chart's C(jfrogml-validation) job; their pods'
        logs are returned and can be required to match a pattern.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Job name. Exactly one of O(validation_jobs[].name) and O(validation_jobs[].label_selector).
        type: str
      label_selector:
        description: Label selector of the job(s), such as C(job-name=jfrogml-validation).
        type: str
      namespace:
        description: Namespace of the job; O(release_namespace) when not set.
        type: str
      log_pattern:
        description: Regular expression (multiline) the jobs' logs must match.
        type: str
  engine:
    description:
      - C(auto) uses a C(helm) binary 3.8 or newer when O(binary_path) or C(PATH) has one, else the Helm Go SDK.
      - C(cli) requires the binary; C(sdk) always uses the Go SDK through helm-python-sdk.
    type: str
    choices: [auto, cli, sdk]
    default: auto
  binary_path:
    description: Path of the C(helm) binary for O(engine=cli) or O(engine=auto).
    type: path
notes:
  - Releases are read from Helm's default C(secret) storage in O(release_namespace), so an unchanged release costs
    one list request beyond the preflight (and no chart download when O(chart_version) is exact, see above).
  - Transient API failures (throttling, 5xx, dropped connections) are retried with jittered backoff within a bounded
    budget; other errors fail at once with the API's message.
seealso:
  - module: kubernetes.core.helm
"""

EXAMPLES = r"""
- name: Install MLflow, checked before and after
  mlplatform.selfhosted.helm_release_checked:
    name: mlflow
    release_namespace: mlflow
    create_namespace: true
    chart_ref: mlflow
    chart_repo_url: https://community-charts.github.io/helm-charts
    chart_version: 1.11.5
    values:
      replicaCount: 2
    secret_values:
      backendStore:
        postgres:
          password: "{{ vault_mlflow_db_password }}"
    preflight:
      kube_version: ">=1.24,<1.35"
    wait_timeout: 600
    atomic: true

- name: JFrog ML data plane from JFrog's Helm repository, its validation job's logs returned
  mlplatform.selfhosted.helm_release_checked:
    name: jfrogml
    release_namespace: jfrogml
    create_namespace: true
    chart_ref: jfrogml
    chart_repo_url: "{{ jfrogml_chart_repo_url }}"
    chart_version: "{{ jfrogml_chart_version }}"
    chart_repo_username: "{{ jfrogml_chart_repo_username }}"
    chart_repo_password: "{{ vault_jfrogml_chart_repo_password }}"
    values_files:
      - files/jfrogml-values.yaml
    secret_values:
      joinkey: "{{ vault_jfrogml_join_key }}"
    preflight:
      kube_version: ">=1.24,<1.33"  # 1.24 to 1.32, both included
      required_crds:
        - targetgroupbindings.elbv2.k8s.aws  # AWS Load Balancer Controller, on EKS
        - kafkas.kafka.strimzi.io
    validation_jobs:
      - label_selector: job-name=jfrogml-validation
    atomic: true
  register: jfrogml

- name: Show the validation job's logs (the guide asks for them; there is no success pattern to match)
  ansible.builtin.debug:
    msg: "{{ jfrogml.checks | selectattr('type', 'equalto', 'validation_job') | map(attribute='logs') | list }}"

- name: A chart from a password-protected repository with a private CA, the password from a vault variable
  mlplatform.selfhosted.helm_release_checked:
    name: zenml
    release_namespace: zenml
    chart_ref: zenml
    chart_repo_url: https://charts.example.com/private
    chart_version: 0.80.0
    chart_repo_username: deploy
    chart_repo_password: "{{ vault_chart_repo_password }}"
    chart_repo_ca_file: /etc/pki/ca-trust/source/anchors/example-ca.pem

- name: A chart from an OCI registry that wants a login
  mlplatform.selfhosted.helm_release_checked:
    name: mlflow
    release_namespace: mlflow
    chart_ref: oci://registry.example.com/helm-charts/mlflow
    chart_version: 1.11.5
    chart_repo_username: deploy
    chart_repo_password: "{{ vault_registry_token }}"

- name: Remove a release
  mlplatform.selfhosted.helm_release_checked:
    name: mlflow
    release_namespace: mlflow
    state: absent
"""

RETURN = r"""
status:
  description: Release status (C(deployed), C(failed), ...); C(planned) in check mode, C(absent) after removal.
  returned: always
  type: str
  sample: deployed
revision:
  description: Release revision.
  returned: when the release exists or is planned
  type: int
  sample: 3
chart:
  description: Chart name and version of the release.
  returned: when the release exists or is planned
  type: str
  sample: mlflow-1.11.5
app_version:
  description: The chart's appVersion.
  returned: when the release exists or is planned
  type: str
  sample: 3.15.1
values:
  description: The user-supplied values of the release, secret-looking values masked.
  returned: when the release exists or is planned
  type: dict
  sample: {replicaCount: 2, auth: {adminPassword: "********"}}
resources:
  description: The resources the release manages.
  returned: when the release exists or is planned
  type: list
  elements: dict
  sample: [{kind: Deployment, api_version: apps/v1, namespace: mlflow, name: mlflow}]
changed_resources:
  description: Keys (C(kind/namespace/name)) of the resources the change adds, removes or modifies.
  returned: in check or diff mode, when the release changes
  type: list
  elements: str
checks:
  description: Post-install checks, each with its result and how long it took.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
    type:
      description: C(workload) or C(validation_job).
      type: str
    passed:
      description: Whether the check passed.
      type: bool
    detail:
      description: The state seen last.
      type: str
    duration:
      description: Seconds the check took.
      type: float
    logs:
      description: Logs of the validation job's pods (last 20000 characters).
      type: str
      returned: for validation jobs
  sample: [{name: "Deployment mlflow/mlflow ready", type: workload, passed: true, detail: "2/2 replicas available", duration: 4.2}]
preflight:
  description: The preflight's problems.
  returned: when the preflight fails
  type: list
  elements: str
failed_checks:
  description: The checks that failed.
  returned: when a check fails
  type: list
  elements: dict
recovered:
  description:
    - What O(recover_pending) did (in check mode, would do) to a release an interrupted run left pending, before
      the install or upgrade.
  returned: when the release was pending and O(recover_pending) is set
  type: dict
  contains:
    action:
      description: C(rollback) to the last deployed revision, or C(uninstall) of a release that was never deployed.
      type: str
    from_status:
      description: The pending status found.
      type: str
    from_revision:
      description: The pending revision.
      type: int
    to_revision:
      description: The revision rolled back to; null for C(uninstall).
      type: int
    message:
      description: The same in words.
      type: str
  sample: {action: rollback, from_status: pending-upgrade, from_revision: 3, to_revision: 2,
           message: "release mlflow/mlflow is pending-upgrade (revision 3): rolled back to revision 2"}
rollback:
  description: What O(atomic) did after a failed check - C(action) (C(rollback), C(uninstall) or C(failed)), C(message), revisions.
  returned: when a check failed with O(atomic)
  type: dict
kube_version:
  description: The API server's version, when the preflight read it.
  returned: when O(preflight.kube_version) is set
  type: str
  sample: v1.30.6
api_requests:
  description:
    - Kubernetes API requests the module's own client made (preflight, release lookup, checks).
    - The Helm engine's own requests (rendering, applying) are not included.
  returned: always
  type: int
  sample: 2
engine:
  description: The Helm engine used, C(cli) or C(sdk).
  returned: success
  type: str
  sample: sdk
"""

import functools

from ansible_collections.mlplatform.selfhosted.plugins.module_utils.common.module import run_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.core import kube_module
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.module import ensure, make_client
from ansible_collections.mlplatform.selfhosted.plugins.module_utils.kube.helm.runner import DEFAULT_TRANSIENT_ATTEMPTS

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True, aliases=["release_name"]),
    release_namespace=dict(type="str", required=True, aliases=["namespace"]),
    chart_ref=dict(type="str"),
    chart_repo_url=dict(type="str"),
    chart_version=dict(type="str"),
    chart_repo_username=dict(type="str"),
    chart_repo_password=dict(type="str", no_log=True),
    chart_repo_ca_file=dict(type="path"),
    chart_repo_insecure_skip_tls_verify=dict(type="bool", default=False),
    chart_cache_dir=dict(type="path"),
    create_namespace=dict(type="bool", default=False),
    values=dict(type="dict", default={}),
    secret_values=dict(type="dict", default={}, no_log=True),
    values_files=dict(type="list", elements="path", default=[]),
    values_secret_paths=dict(type="list", elements="str", default=[], no_log=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    atomic=dict(type="bool", default=False),
    transient_attempts=dict(type="int", default=DEFAULT_TRANSIENT_ATTEMPTS),
    recover_pending=dict(type="bool", default=True),
    preflight=dict(type="dict", options=dict(
        kube_version=dict(type="str"),
        required_crds=dict(type="list", elements="str"),
        required_namespaces=dict(type="list", elements="str"),
        required_secrets=dict(type="list", elements="str", no_log=False),
    )),
    validation_jobs=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str"),
        label_selector=dict(type="str"),
        namespace=dict(type="str"),
        log_pattern=dict(type="str"),
    ), mutually_exclusive=[("name", "label_selector")], required_one_of=[("name", "label_selector")]),
    engine=dict(type="str", choices=["auto", "cli", "sdk"], default="auto"),
    binary_path=dict(type="path"),
)


def main():
    module = kube_module(ARGUMENT_SPEC, required_if=[("state", "present", ["chart_ref"])])
    run_module(module, make_client, functools.partial(ensure, diff_mode=module._diff), count_requests=True)


if __name__ == "__main__":
    main()
