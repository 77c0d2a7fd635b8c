#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_index_template
short_description: Create, update or delete an Elasticsearch composable index template
version_added: 0.3.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Reads the template (C(GET _index_template/<name>)), compares it with O(template) and writes it
    (C(PUT _index_template/<name>)) only when they differ; with O(state=absent) deletes it (C(DELETE _index_template/<name>))
    only when it exists.
  - >-
    The comparison is made on the form Elasticsearch stores, not on the text given. Settings are stored nested under
    C(index) with every value a string, so C({"number_of_shards": 1}), C({"index.number_of_shards": "1"}) and
    C({"index": {"number_of_shards": 1}}) are the same setting, as are C({"index.lifecycle.name": "x"}) and
    C({"index": {"lifecycle": {"name": "x"}}}). An empty C(data_stream) object is stored as
    C({"hidden": false, "allow_custom_routing": false}), a missing C(composed_of) as an empty list and a single index
    pattern as a list of one. A template written once is therefore found unchanged by the next run.
  - O(template) is checked before any request. A template without C(index_patterns), a C(priority) that is not a
    whole number of 0 or more, an unknown field, or a setting given twice fail the task, naming the field, and nothing
    is sent.
  - Elasticsearch itself refuses, and the task then fails with its reason, a template whose C(composed_of) names a
    component template that does not exist, or whose patterns overlap those of another template of the same priority.
  - Changing a template changes no existing index or data stream backing index; it applies to the indices created
    after it (the next rollover of a data stream).
extends_documentation_fragment:
  - loyalty.platform.elasticsearch
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; reports whether the template would be created, changed or deleted, and which fields differ.
  diff_mode:
    support: full
    details: The stored template before and after, in the form Elasticsearch stores.
  platform:
    platforms: posix
options:
  name:
    description:
      - The template name, in lower case, for example V(loyalty-logs).
    type: str
    required: true
  template:
    description:
      - The request body, as Elasticsearch's documentation writes it, with C(index_patterns) (required), C(template)
        (the C(settings), C(mappings) and C(aliases) of the indices it creates), C(data_stream), C(priority),
        C(composed_of), C(version), C(_meta) and C(allow_auto_create).
      - Messages name its fields from C(template), so C(template.template.settings) is the settings.
      - Required with O(state=present).
    type: dict
  state:
    description:
      - V(present) creates or updates the template; V(absent) deletes it if it exists.
      - Elasticsearch refuses to delete a template that a data stream uses; the task then fails with its reason.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: loyalty.platform.elasticsearch_ilm_policy
  - name: Create or update index template API
    description: The request body that O(template) is.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/8.17/indices-put-template.html
"""

EXAMPLES = r"""
- name: A data stream per service for the logs, managed by the loyalty-logs ILM policy
  loyalty.platform.elasticsearch_index_template:
    url: https://elasticsearch.example.com:9200
    username: elastic
    password: "{{ vault_elasticsearch_password }}"
    ca_path: /etc/pki/elasticsearch-ca.pem
    name: loyalty-logs
    template:
      index_patterns: ["logs-loyalty-*"]
      data_stream: {}
      priority: 500
      _meta:
        managed_by: loyalty.platform
      template:
        settings:
          index.lifecycle.name: loyalty-logs
          number_of_replicas: 1
        mappings:
          properties:
            "@timestamp": {type: date}
            level: {type: keyword}
            service: {type: keyword}
            message: {type: text}

- name: What would change
  loyalty.platform.elasticsearch_index_template:
    url: https://elasticsearch.example.com:9200
    api_key: "{{ vault_elasticsearch_api_key }}"
    name: loyalty-logs
    template: "{{ loyalty_logs_template }}"
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
index_template:
  description:
    - The template as Elasticsearch holds it after the run (in check mode, as it would hold it).
  returned: when O(state=present)
  type: dict
  sample: {"index_patterns": ["logs-loyalty-*"], "composed_of": [], "priority": 500,
           "data_stream": {"hidden": false, "allow_custom_routing": false},
           "template": {"settings": {"index": {"lifecycle": {"name": "loyalty-logs"}, "number_of_replicas": "1"}}}}
changes:
  description: The dotted paths of the template that differ between what was stored and what is wanted (empty when nothing does).
  returned: always
  type: list
  elements: str
  sample: ["priority", "template.settings.index.number_of_replicas"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.loyalty.platform.plugins.module_utils.elasticsearch import IndexTemplate, index_template_problems, module_args, run_module


def main():
    module = AnsibleModule(**module_args("template"))
    run_module(module, IndexTemplate, "template", index_template_problems, "Index template", "index_template", lowercase_name=True)


if __name__ == "__main__":
    main()
