# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_changed
short_description: The rendered Kubernetes objects that the live ones do not satisfy yet
version_added: 0.1.0
description:
  - Given rendered manifests and the live objects of the same kinds (as the C(kubernetes.core.k8s) lookup lists them),
    returns the manifests an apply could still change, in their input order. The others can be skipped without
    a module run.
  - Made for server-side apply, which keeps no copy of what was sent. Each returned manifest carries the
    annotation C(loyalty.platform/applied-sha256), the sha256 of the manifest itself (never its content), to be
    applied with it.
  - The comparison is conservative. A manifest counts as unchanged only when the live object exists, its
    C(loyalty.platform/applied-sha256) annotation is the hash of exactly this manifest (so a field dropped from the
    template was removed by that apply), and every field of the manifest has the same value and type in the live
    object (lists of the same length, matched element by element). Fields the server owns (C(metadata.uid),
    C(metadata.resourceVersion), C(status) and the like) are ignored. Anything else means changed.
  - Secrets are never compared by value. The manifest must carry the annotation C(loyalty.platform/secret-hash),
    the sha256 of its data as C(key=value) lines in key order, and the live Secret's data must hash to the same value.
    Use it inside C(no_log) tasks only, as anything holding Secret data.
options:
  _input:
    description: The rendered manifests, each with C(apiVersion), C(kind) and C(metadata.name).
    type: list
    elements: dict
    required: true
  live:
    description:
      - The live objects, as a mapping of C(<apiVersion>/<Kind>) (for example C(apps/v1/Deployment), C(v1/Namespace))
        to the list of objects of that type. List items without C(apiVersion) and C(kind) take them from the key.
      - A manifest whose type is missing from the mapping has no live object, so it counts as changed.
      - The mapping may also be given as its JSON text (C(to_json)). A playbook that keeps a large listing
        between tasks can hold it as one string, which Ansible copies for free wherever it copies variables.
    type: raw
    required: true
  create_only:
    description:
      - Fields sent only when the object is created, as a mapping of C(<apiVersion>/<Kind>) to a list of dotted field paths
        (for example C(v1/Service) to C([spec.selector])).
      - For a field another field manager owns once the object exists. The fields are left out of the hash, the comparison
        and what is returned for an existing object; a manifest whose object does not exist yet is returned with them.
        eks_apps creates each Service selecting the run's color this way; the blue/green switch owns the selector afterwards.
    type: dict
    required: false
author:
  - Loyalty platform team (@loyalty-platform)
seealso:
  - module: kubernetes.core.k8s
  - plugin: kubernetes.core.k8s
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Apply only what differs from the cluster
  vars:
    _live:
      v1/ConfigMap: "{{ query('kubernetes.core.k8s', kind='ConfigMap', api_version='v1', namespace='demo') }}"
      apps/v1/Deployment: "{{ query('kubernetes.core.k8s', kind='Deployment', api_version='apps/v1', namespace='demo') }}"
    _changed: "{{ manifests | loyalty.platform.k8s_changed(_live) }}"
  kubernetes.core.k8s:
    definition: "{{ _changed }}"
    apply: true
    server_side_apply:
      field_manager: my-playbook
  when: _changed | length > 0
"""

RETURN = r"""
_value:
  description:
    - The manifests of the input that an apply could change, in input order, each with the annotation
      C(loyalty.platform/applied-sha256) added; empty when every one is satisfied.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_changes import K8sChangesError, changed_objects


def k8s_changed(definitions, live, create_only=None):
    """Filter entry point: changed_objects() with its errors as AnsibleFilterError."""
    try:
        return changed_objects(definitions, live, create_only)
    except K8sChangesError as exc:
        raise AnsibleFilterError("k8s_changed: %s" % exc) from exc


class FilterModule:
    """loyalty.platform.k8s_changed."""

    def filters(self):
        return {"k8s_changed": k8s_changed}
