# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pinned_image_tag
short_description: Whether an image tag may be released to an environment
version_added: 0.1.0
description:
  - True when the tag is set, is a valid OCI tag (letters, digits, C(_), C(.) and C(-), at most 128 characters, not
    starting with C(.) or C(-)), and, in production, names a release (V(latest) is refused).
  - The one home of the rule for every role and playbook of the collection; the
    C(loyalty.platform.image_tag_problem) filter says why a tag fails it.
options:
  _input:
    description: The image tag.
    type: str
    required: true
  environment:
    description: The environment (V(production), V(staging) or V(local)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a floating tag in production
  ansible.builtin.assert:
    that: image_tag is loyalty.platform.pinned_image_tag(loyalty_environment)
    fail_msg: "{{ image_tag | loyalty.platform.image_tag_problem(loyalty_environment) }}"
"""

RETURN = r"""
_value:
  description: Whether the tag may be released there.
  type: bool
"""

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import image_tag_problem


def pinned_image_tag(tag, environment):
    return image_tag_problem(tag, environment) is None


class TestModule:  # pylint: disable=too-few-public-methods
    def tests(self):
        return {"pinned_image_tag": pinned_image_tag}
