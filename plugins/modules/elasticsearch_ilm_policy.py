#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_ilm_policy
short_description: Create, update or delete an Elasticsearch index lifecycle management (ILM) policy
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Reads the policy (C(GET _ilm/policy/<name>)), compares it with O(policy) and writes it (C(PUT _ilm/policy/<name>))
    only when they differ; with O(state=absent) deletes it (C(DELETE _ilm/policy/<name>)) only when it exists.
  - The comparison is made on the form Elasticsearch stores, not on the text given. A phase without C(min_age) is stored
    with V(0ms), and the C(delete), C(allocate), C(searchable_snapshot) and C(migrate) actions with their defaults
    (C(delete_searchable_snapshot=true); empty C(include), C(exclude) and C(require); C(force_merge_index=true);
    C(enabled=true)). A policy written once is therefore found unchanged by the next run. What the server adds beside
    the policy (C(version), C(modified_date), C(in_use_by)) takes no part in the comparison.
  - O(policy) is checked before any request. A phase other than C(hot), C(warm), C(cold), C(frozen) and C(delete), an
    action that its phase does not take, a C(min_age) that is not a time value, or phases whose C(min_age) decrease in
    that order fail the task, naming the field, and nothing is sent.
  - A failed request fails the task with Elasticsearch's own reason and the HTTP status (a wrong password, for example,
    with the C(security_exception) of the 401).
extends_documentation_fragment:
  - loyalty.platform.elasticsearch
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; reports whether the policy would be created, changed or deleted, and which fields differ.
  diff_mode:
    support: full
    details: The stored policy before and after, in the form Elasticsearch stores.
  platform:
    platforms: posix
options:
  name:
    description:
      - The policy name, for example V(loyalty-logs). Referred to by an index template's C(index.lifecycle.name) setting.
    type: str
    required: true
  policy:
    description:
      - The C(policy) object of the request body, with C(phases) and optionally C(_meta), as Elasticsearch's
        documentation writes it.
      - Required with O(state=present).
    type: dict
  state:
    description:
      - V(present) creates or updates the policy; V(absent) deletes it if it exists.
      - Elasticsearch refuses to delete a policy that indices still use; the task then fails with its reason.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: loyalty.platform.elasticsearch_index_template
  - name: Create or update lifecycle policy API
    description: The body O(policy) is the C(policy) object of.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ilm-put-lifecycle.html
"""

EXAMPLES = r"""
- name: Keep the services' logs 30 days, rolled over daily or at 50 GB
  loyalty.platform.elasticsearch_ilm_policy:
    url: https://elasticsearch.example.com:9200
    username: elastic
    password: "{{ vault_elasticsearch_password }}"
    name: loyalty-logs
    policy:
      _meta:
        managed_by: loyalty.platform
      phases:
        hot:
          actions:
            rollover:
              max_age: 1d
              max_primary_shard_size: 50gb
        warm:
          min_age: 7d
          actions:
            forcemerge:
              max_num_segments: 1
        delete:
          min_age: 30d
          actions:
            delete: {}

- name: Remove an old policy (with an API key)
  loyalty.platform.elasticsearch_ilm_policy:
    url: https://elasticsearch.example.com:9200
    api_key: "{{ vault_elasticsearch_api_key }}"
    name: loyalty-logs-old
    state: absent
"""

RETURN = r"""
policy:
  description:
    - The policy as Elasticsearch holds it after the run (in check mode, as it would hold it), without C(version),
      C(modified_date) and C(in_use_by).
  returned: when O(state=present)
  type: dict
  sample: {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d"}}},
           "delete": {"min_age": "30d", "actions": {"delete": {"delete_searchable_snapshot": true}}}}}
changes:
  description: The dotted paths of the policy that differ between what was stored and what is wanted (empty when nothing does).
  returned: always
  type: list
  elements: str
  sample: ["phases.delete.min_age"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.loyalty.platform.plugins.module_utils.elasticsearch import IlmPolicy, ilm_policy_problems, module_args, run_module


def main():
    module = AnsibleModule(**module_args("policy"))
    run_module(module, IlmPolicy, "policy", ilm_policy_problems, "ILM policy", "policy")


if __name__ == "__main__":
    main()
