# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The gates and the Prometheus that evaluates them, shared by every module that takes gates.

The argument spec these options document is module_utils/prometheus_api.py's PROMETHEUS_SPEC.
"""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Doc fragment of the gate modules."""

    DOCUMENTATION = r"""
options:
  gates:
    description:
      - PromQL instant queries. Every sample a query returns must satisfy O(gates[].comparison) against O(gates[].threshold)
        for the gate to pass.
      - In the query, the placeholders C({color}), C({previous_color}), C({namespace}) and C({service}) are replaced (the
        module's description says by what); a query that contains C({service}) is evaluated once per Service. Other braces
        (PromQL label matchers) are left alone.
      - Prometheus is reached through O(prometheus_service) or O(prometheus_url); the module's description says when one of
        them is required.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - A name for the gate, used in messages and in the result.
        type: str
        required: true
      query:
        description:
          - The PromQL instant query. It must return a vector or a scalar.
        type: str
        required: true
      threshold:
        description:
          - The value each sample is compared with.
        type: float
        required: true
      comparison:
        description:
          - How a sample must compare to O(gates[].threshold) for the gate to pass.
        type: str
        choices: ["<", "<=", ">", ">=", "==", "!="]
        default: "<="
      allow_empty:
        description:
          - Whether a query that returns no sample passes. By default an empty answer fails the gate.
        type: bool
        default: false
  prometheus_service:
    description:
      - The in-cluster Prometheus Service, reached through the API server's services proxy
        (C(/api/v1/namespaces/<namespace>/services/<name>:<port>/proxy/api/v1/query)) with the module's kubeconfig and
        context, so a controller outside the cluster needs no route or DNS name into it, only the C(services/proxy)
        permission (verb C(get)) on that Service.
      - The usual way from a controller outside the cluster. Mutually exclusive with O(prometheus_url).
    type: dict
    suboptions:
      namespace:
        description:
          - Namespace of the Service, for example V(monitoring).
        type: str
        required: true
      name:
        description:
          - Name of the Service, for example V(prometheus-server).
        type: str
        required: true
      port:
        description:
          - The Service port, by name or number.
        type: str
        default: "9090"
      scheme:
        description:
          - Whether the API server talks V(http) or V(https) to the Service.
        type: str
        choices: [http, https]
        default: http
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API, for example V(https://prometheus.example.com), when it is reached directly
        rather than through the API server. Mutually exclusive with O(prometheus_service).
      - Messages name it without any C(user:password@) part.
    type: str
  prometheus_timeout:
    description:
      - Seconds to wait for each Prometheus answer (through the services proxy, for each proxied request).
    type: int
    default: 10
  prometheus_validate_certs:
    description:
      - Verify the TLS certificate of an V(https) O(prometheus_url).
      - For O(prometheus_url) only; through O(prometheus_service) the API server's certificate is checked as the kubeconfig
        says, and V(false) is refused.
    type: bool
    default: true
  prometheus_ca_path:
    description:
      - A CA bundle that signs the certificate of an V(https) O(prometheus_url) (refused with O(prometheus_service)).
    type: path
  prometheus_token:
    description:
      - A bearer token sent to O(prometheus_url) (C(Authorization) header), for a Prometheus behind an authenticating proxy.
      - For O(prometheus_url) only (refused with O(prometheus_service)). Never logged.
    type: str
  prometheus_headers:
    description:
      - Further HTTP headers sent to O(prometheus_url), for example a basic C(Authorization) or a tenant header
        (refused with O(prometheus_service)).
      - Their values are never logged.
    type: dict
    default: {}
"""
