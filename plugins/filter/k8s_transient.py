# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: k8s_transient
short_description: Whether a failed kubernetes.core task failed on a transient error worth retrying
version_added: 1.0.0
description:
  - True for the registered result of a failed M(kubernetes.core.k8s) or M(kubernetes.core.k8s_info) task whose
    Kubernetes API answered 429, 500, 502, 503 or 504, or that could not connect; false for a success or any other
    failure (a refused, invalid or forbidden request fails at once).
  - The roles retry their Kubernetes tasks with C(until) on its negation, so a throttled or briefly unavailable API
    server does not fail a run.
  - kubernetes.core reports the API's C(Status) body (with its C(code)) or the client's exception text in C(msg), and
    for writes the HTTP reason phrase in C(reason).
options:
  _input:
    description: The registered result of the task.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read a ConfigMap, retrying transient API errors
  kubernetes.core.k8s_info:
    kind: ConfigMap
    namespace: default
    name: settings
  register: found
  retries: 5
  delay: 2
  until: not (found | mlplatform.selfhosted.k8s_transient)
"""

RETURN = r"""
_value:
  description: True when the task failed on a transient error.
  type: bool
"""

import re

TRANSIENT_CODES = frozenset((429, 500, 502, 503, 504))
TRANSIENT_REASONS = frozenset(("Too Many Requests", "Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout"))
# A Status body's code, or the "(503)\nReason:" / "503\nReason:" head of the client's ApiException.
_CODE = re.compile(r'"code":\s*(\d{3})\b|(?:^|\W)\(?(\d{3})\)?(?:\s|\\n)*Reason:')
_CONNECTION = re.compile(r"Max retries exceeded|Connection refused|Connection reset|Connection aborted|RemoteDisconnected|"
                         r"timed out|ProtocolError|Temporary failure in name resolution")


def k8s_transient(result):
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    if result.get("reason") in TRANSIENT_REASONS:
        return True
    message = str(result.get("msg", ""))
    codes = [int(status or raw) for status, raw in _CODE.findall(message)]
    if codes:
        return codes[0] in TRANSIENT_CODES
    return bool(_CONNECTION.search(message))


class FilterModule:
    def filters(self):
        return {"k8s_transient": k8s_transient}
