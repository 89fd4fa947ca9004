# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: k8s_resources_errors
short_description: What the API server would refuse in a container's resources
version_added: 1.0.0
description:
  - The entries of a container's C(resources) (C(requests) and C(limits), maps of resource names to quantities, and C(claims)) that
    the API server would refuse, each as V(requests.memory='1 GB'); an empty list when all are valid.
  - The roles' preflights check their C(*_resources) variables with it before any write, so a typo does not fail
    only when the API server refuses the workload, after the objects before it were written.
  - Quantities are parsed by P(mlplatform.selfhosted.k8s_quantity#filter).
options:
  _input:
    description: The C(resources) of a container.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check the resources before any write
  ansible.builtin.assert:
    that: resources | mlplatform.selfhosted.k8s_resources_errors | length == 0
    fail_msg: >-
      resources must be requests and limits of Kubernetes quantities,
      got {{ resources | mlplatform.selfhosted.k8s_resources_errors | join(', ') }}
"""

RETURN = r"""
_value:
  description: The refused entries; empty when the resources are valid.
  type: list
  elements: str
"""

from ansible_collections.mlplatform.selfhosted.plugins.filter.k8s_quantity import canonical


def k8s_resources_errors(resources):
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return ["%r is not a map of requests and limits" % (resources,)]
    errors = []
    for section, values in resources.items():
        if section == "claims":  # dynamic resource claims: names, no quantities
            continue
        if section not in ("requests", "limits"):
            errors.append("%s is not requests or limits" % section)
        elif not isinstance(values, dict):
            errors.append("%s=%r is not a map of quantities" % (section, values))
        else:
            errors.extend("%s.%s=%r" % (section, name, value) for name, value in values.items() if canonical(value) is None)
    return errors


class FilterModule:
    def filters(self):
        return {"k8s_resources_errors": k8s_resources_errors}
