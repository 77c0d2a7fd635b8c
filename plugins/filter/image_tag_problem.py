# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: image_tag_problem
short_description: Why an image tag may not be released to an environment
version_added: 0.1.0
description:
  - The reason the C(loyalty.platform.pinned_image_tag) test fails for a tag, as a phrase for a failure message
    (V(no image tag is set), an invalid tag, or a tag such as V(latest) that names no release in production);
    the empty string when the tag may be released.
options:
  _input:
    description: The image tag.
    type: str
    required: true
  environment:
    description: The environment.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Say why
  ansible.builtin.debug:
    msg: "{{ 'latest' | loyalty.platform.image_tag_problem('production') }}"
"""

RETURN = r"""
_value:
  description: The reason, or an empty string.
  type: str
"""

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import image_tag_problem as _image_tag_problem


def image_tag_problem(tag, environment):
    return _image_tag_problem(tag, environment) or ""


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"image_tag_problem": image_tag_problem}
