# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The conventions the collection's roles and modules share, in one place.

eks_apps creates the objects by these rules, bluegreen_deploy and k8s_bluegreen find and switch them by the same
rules: the environments, the two colors and the label that tells them apart, the ``{service}-{color}`` Deployment
name, the kinds made per color (and their name suffixes), the default services, the readiness path of the Spring
Boot services, and which image tags a release may use. Roles read them with the ``loyalty.platform.convention``
filter, playbooks check tags with the ``loyalty.platform.pinned_image_tag`` test.
"""

from __future__ import annotations

import re

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import LOG_PATTERN, STRUCTURED_FORMAT

ENVIRONMENTS = ("production", "staging", "local")
COLORS = ("blue", "green")
FIRST_COLOR = "blue"
COLOR_LABEL = "color"
# The field manager the blue/green switch writes a Service's color with; it owns that field.
SELECTOR_FIELD_MANAGER = "loyalty-platform-bluegreen"
DEPLOYMENT_NAME = "{service}-{color}"

# The ConfigMap of a color is <service>-<color>-config.
CONFIG_SUFFIX = "-config"

# The kinds made once per color, named <service>-<color><suffix>, in the order they are deleted.
COLORED_KINDS = (
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "suffix": ""},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "suffix": ""},
    {"apiVersion": "apps/v1", "kind": "Deployment", "suffix": ""},
    {"apiVersion": "v1", "kind": "ConfigMap", "suffix": CONFIG_SUFFIX},
)

# The loyalty services and the path under which each is published.
DEFAULT_SERVICES = (
    {"name": "user-service", "ingress_path": "/api/v1/users"},
    {"name": "point-service", "ingress_path": "/api/v1/points"},
    {"name": "rewards-service", "ingress_path": "/api/v1/rewards"},
    {"name": "admin-service", "ingress_path": "/api/v1/admin"},
)

# Spring Boot: the servlet context path and the actuator health groups below it.
CONTEXT_PATH = "/api/v1"
LIVENESS_SUFFIX = "/actuator/health/liveness"
READINESS_SUFFIX = "/actuator/health/readiness"

# An image tag as the OCI distribution spec allows it; the tags that name no release; where a release is required.
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
FLOATING_TAGS = ("latest",)
RELEASED_TAG_ENVIRONMENTS = ("production",)

CONVENTIONS = {
    "environments": list(ENVIRONMENTS),
    "colors": list(COLORS),
    "first_color": FIRST_COLOR,
    "color_label": COLOR_LABEL,
    "selector_field_manager": SELECTOR_FIELD_MANAGER,
    "deployment_name": DEPLOYMENT_NAME,
    "config_suffix": CONFIG_SUFFIX,
    "colored_kinds": [dict(kind) for kind in COLORED_KINDS],
    "default_services": [dict(service) for service in DEFAULT_SERVICES],
    "context_path": CONTEXT_PATH,
    "liveness_suffix": LIVENESS_SUFFIX,
    "readiness_suffix": READINESS_SUFFIX,
    "tag_pattern": TAG_PATTERN,
    "floating_tags": list(FLOATING_TAGS),
    # The services' console log pattern and structured format: eks_apps writes them into application.yml,
    # logging_elk derives its parsing from the same values.
    "log_pattern": LOG_PATTERN,
    "log_structured_format": STRUCTURED_FORMAT,
}


def convention(name):
    """A fresh copy of one convention; an unknown name is a programming error worth a clear message."""
    if name not in CONVENTIONS:
        raise KeyError("no convention %r; known: %s" % (name, ", ".join(sorted(CONVENTIONS))))
    value = CONVENTIONS[name]
    if isinstance(value, list):
        return [dict(item) if isinstance(item, dict) else item for item in value]
    return value


def colored_name(service, color, suffix=""):
    """The name of a service's object of one color: DEPLOYMENT_NAME filled in, then ``suffix`` (``-config``, say)."""
    return DEPLOYMENT_NAME.replace("{service}", str(service)).replace("{color}", str(color)) + (suffix or "")


def image_tag_problem(tag, environment):
    """Why ``tag`` may not be released in ``environment`` (a phrase), or None when it may."""
    tag = "" if tag is None else str(tag)
    if not tag:
        return "no image tag is set"
    if not re.match(TAG_PATTERN, tag):
        return "image tag %s is not a valid tag (letters, digits, _ . -, at most 128)" % tag
    if environment in RELEASED_TAG_ENVIRONMENTS and tag in FLOATING_TAGS:
        return "image tag %s names no release and is refused in %s" % (tag, environment)
    return None
