#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_validate
short_description: Validate Kubernetes manifests offline against the API schemas
version_added: 0.1.0
description:
  - Checks rendered Kubernetes manifests against the JSON schemas of one Kubernetes
    version shipped by the Python package C(kubernetes-validate), without contacting a cluster.
  - Meant to run before any manifest is applied, so that a bad value fails the play
    before the cluster is touched. Every error names the object (kind, namespace, name)
    and the field path.
  - In strict mode unknown fields are rejected, as C(kubectl apply --validate=strict) does.
  - The module never writes anything and never returns the manifests, so it can be given
    rendered Secrets whose data has been replaced by placeholders.
author:
  - Loyalty platform team (@loyalty-platform)
options:
  definitions:
    description:
      - The manifests to validate, each a mapping with C(apiVersion), C(kind) and C(metadata.name).
    type: list
    elements: dict
    required: true
  kubernetes_version:
    description:
      - The Kubernetes version whose schemas are used, as C(major.minor).
      - When kubernetes-validate ships no schema set for that version, the newest older one is
        used (or the oldest shipped one for a version older than all of them); the version used
        is returned as RV(schema_version).
    type: str
    default: "1.30"
  strict:
    description:
      - Reject fields that the schema does not know.
    type: bool
    default: true
  reject_null:
    description:
      - Reject null values anywhere in a manifest. The schemas accept nulls, but a null in a
        rendered manifest is almost always an empty template value that the API server refuses
        or silently drops.
    type: bool
    default: true
requirements:
  - kubernetes-validate
attributes:
  action:
    support: full
    description: The validation runs in the controller process through the action plugin of the same name.
  check_mode:
    support: full
    description: The module only reads its input; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
notes:
  - An action plugin of the same name runs the validation in the controller process, without a module
    run or a connection to the managed host; no cluster connection is made either. This file keeps the
    documentation and the same logic as a module for direct use.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Validate rendered manifests against the Kubernetes 1.30 schemas before applying them
  loyalty.platform.k8s_validate:
    definitions: "{{ lookup('ansible.builtin.template', 'app.yml.j2') | ansible.builtin.from_yaml_all }}"
    kubernetes_version: "1.30"

- name: Validate without rejecting unknown fields
  loyalty.platform.k8s_validate:
    definitions:
      - apiVersion: v1
        kind: ConfigMap
        metadata:
          name: demo-config
          namespace: demo
        data:
          key: value
    strict: false
"""

RETURN = r"""
schema_version:
  description: The Kubernetes version (major.minor) whose schemas were used.
  returned: always
  type: str
  sample: "1.30"
objects:
  description: One entry per manifest, in input order.
  returned: always
  type: list
  elements: dict
  contains:
    object:
      description: Kind, namespace and name as one string.
      type: str
      sample: Deployment loyalty-system-local/user-service-blue
    kind:
      description: The manifest's kind.
      type: str
      sample: Deployment
    namespace:
      description: The manifest's namespace, null for cluster-scoped objects.
      type: str
      sample: loyalty-system-local
    name:
      description: The manifest's name.
      type: str
      sample: user-service-blue
    valid:
      description: Whether the manifest passed.
      type: bool
      sample: true
errors:
  description: Every problem found; the module fails when this is not empty.
  returned: always
  type: list
  elements: dict
  contains:
    object:
      description: Kind, namespace and name of the faulty manifest.
      type: str
      sample: Deployment loyalty-system-local/user-service-blue
    kind:
      description: The faulty manifest's kind.
      type: str
      sample: Deployment
    namespace:
      description: The faulty manifest's namespace.
      type: str
      sample: loyalty-system-local
    name:
      description: The faulty manifest's name.
      type: str
      sample: user-service-blue
    path:
      description: The field path inside the manifest.
      type: str
      sample: spec.template.spec.containers[0]
    message:
      description: What is wrong with that field.
      type: str
      sample: "Additional properties are not allowed ('imagePullPolice' was unexpected)"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_validate import ARGUMENT_SPEC, check


def main():
    # The action plugin of the same name runs the check in the controller process; this entry point does the
    # same work (same options, same result) when the module is called without it.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    result = check(params["definitions"], params["kubernetes_version"], params["strict"], params["reject_null"])
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
