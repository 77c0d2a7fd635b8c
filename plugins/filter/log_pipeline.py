# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: log_pipeline
short_description: The log pipeline's parsing, derived from the services' Logback console pattern
version_added: 0.3.0
description:
  - Turns the Logback console pattern the loyalty services log with (the one C(loyalty.platform.eks_apps) writes into
    their C(application.yml)) into the corrected filter chain of the log pipeline, as data.
  - JSON lines (Spring Boot's structured ECS logging) are parsed as JSON and never grokked, their ECS keys renamed to
    the fields the pattern yields; other lines go through a grok expression built from the pattern, with its own
    failure tag; the time is parsed in the pattern's zone (UTC unless the pattern names one) with a failure tag;
    lines whose logger is C(SECURITY) are tagged C(security).
  - Fails, naming the conversion and the fix, when the pattern uses a conversion the pipeline cannot parse (colours,
    C(%clr), conversions after the message) or lacks the time, the level or the message.
options:
  _input:
    description: The Logback pattern, such as C(%d{yyyy-MM-dd HH:mm:ss} [%thread] %-5level %logger{36} - %msg%n).
    type: str
    required: true
  timezone:
    description: Zone of the times the pattern writes, when the pattern does not name one.
    type: str
    default: UTC
"""

EXAMPLES = r"""
- name: The grok expression of the services' pattern
  ansible.builtin.debug:
    msg: "{{ ('log_pattern' | loyalty.platform.convention | loyalty.platform.log_pipeline).grok.match }}"
"""

RETURN = r"""
_value:
  description:
    - The chain, with the keys C(json) (C(when), C(source), C(tag_on_failure), C(rename), C(exclusive)), C(grok)
      (C(match), C(pattern_definitions), C(tag_on_failure)), C(date) (C(field), C(formats), C(timezone),
      C(tag_on_failure)), C(geoip) (C(field), C(target)), C(security) (C(field), C(equals), C(tag)) and
      C(multiline_pattern) (where a new event begins, for Filebeat's multiline parser), and C(problems), what keeps
      the grok expression from compiling (empty when it compiles).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import grok_problems, pipeline_spec


def log_pipeline(pattern, timezone=None):
    try:
        spec = pipeline_spec(str(pattern), timezone=timezone)
    except ValueError as exc:
        raise AnsibleFilterError("loyalty.platform.log_pipeline: %s" % exc) from exc
    spec["problems"] = grok_problems(spec["grok"]["match"], spec["grok"]["pattern_definitions"])
    return spec


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"log_pipeline": log_pipeline}
