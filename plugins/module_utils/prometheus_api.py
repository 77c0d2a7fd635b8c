# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the gate modules reach Prometheus: the one argument spec of the Prometheus options, and the query fetchers.

Two ways, one behaviour:

* ``prometheus_service``: the API server's services proxy
  (``/api/v1/namespaces/NS/services/[https:]NAME:PORT/proxy/api/v1/query``) with the module's kubeconfig, so a
  controller outside the cluster reaches the in-cluster Prometheus with the credentials it already has (the
  ``services/proxy`` permission), no DNS name of the cluster and no extra network path;
* ``prometheus_url``: the Prometheus HTTP API at a URL, with its own TLS (CA, certificate checks) and auth (a bearer
  token or headers).

A fetcher is ``fetch(query, gate_name)`` returning the instant query's ``data``; every failure is a BlueGreenError that
names the gate and where Prometheus was looked for, and says that nothing was changed.
"""

from __future__ import annotations

import json

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.errors import BlueGreenError
from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.gates import GATE_SPEC
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import ApiError, service_proxy_path
from ansible_collections.loyalty.platform.plugins.module_utils.url_text import without_userinfo

QUERY_PATH = "api/v1/query"

# The options every module that evaluates gates takes; documented once in the loyalty.platform.prometheus doc fragment.
PROMETHEUS_SPEC = dict(
    gates=dict(type="list", elements="dict", default=[], options=GATE_SPEC),
    prometheus_service=dict(
        type="dict",
        options=dict(
            namespace=dict(type="str", required=True),
            name=dict(type="str", required=True),
            port=dict(type="str", default="9090"),
            scheme=dict(type="str", default="http", choices=["http", "https"]),
        ),
    ),
    prometheus_url=dict(type="str"),
    prometheus_timeout=dict(type="int", default=10),
    prometheus_validate_certs=dict(type="bool", default=True),
    prometheus_ca_path=dict(type="path"),
    prometheus_token=dict(type="str", no_log=True),
    prometheus_headers=dict(type="dict", default={}, no_log=True),
)
PROMETHEUS_MUTUALLY_EXCLUSIVE = [("prometheus_service", "prometheus_url")]


def prometheus_spec():
    """A fresh copy of the shared spec (AnsibleModule may change the dicts it is given)."""
    return json.loads(json.dumps(PROMETHEUS_SPEC))


def validate_prometheus(params):
    """Cross-field rules of the Prometheus options; returns a list of problems."""
    problems = []
    if params.get("gates") and not (params.get("prometheus_service") or params.get("prometheus_url")):
        problems.append("gates are set but neither prometheus_service (the in-cluster Service, reached through the API server) "
                        "nor prometheus_url names the Prometheus that evaluates them")
    if (params.get("prometheus_timeout") or 0) <= 0:
        problems.append("prometheus_timeout must be at least 1 second (got %s)" % params.get("prometheus_timeout"))
    if params.get("prometheus_service"):
        port = str(params["prometheus_service"].get("port") or "").strip()
        if not port or (port.isdigit() and not 1 <= int(port) <= 65535):
            problems.append("prometheus_service.port must be a Service port name or a number between 1 and 65535 (got %r)" % port)
        for key in ("prometheus_token", "prometheus_ca_path", "prometheus_headers"):
            if params.get(key):
                problems.append("%s applies to prometheus_url only; through the services proxy the kubeconfig's credentials are used" % key)
        if params.get("prometheus_validate_certs") is False:
            problems.append("prometheus_validate_certs applies to prometheus_url only; through the services proxy the API server's "
                            "certificate is checked as the kubeconfig says")
    return problems


def where(params):
    """How the messages name the Prometheus in use."""
    service = params.get("prometheus_service")
    if service:
        return "Prometheus Service %s/%s:%s (through the API server's services proxy)" % (service["namespace"], service["name"], service["port"])
    return "Prometheus at %s" % without_userinfo(params.get("prometheus_url"))


def _text(body):
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")


def _document(body):
    """The answer as a JSON object, or None when it is not one."""
    try:
        document = json.loads(_text(body) or "{}")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _error_text(body):
    """The ``error`` of a Prometheus answer, the ``message`` of a Kubernetes Status, or the body itself."""
    document = _document(body)
    if document is None:
        return _text(body).strip()[:300]
    return document.get("error") or document.get("message") or json.dumps(document)[:300]


def _is_prometheus_answer(body):
    return "errorType" in (_document(body) or {})


def interpret(location, gate_name, query, status, body):
    """The ``data`` of one answer, or the BlueGreenError that says why there is none."""
    if status in (400, 422) and (location.startswith("Prometheus at") or _is_prometheus_answer(body)):
        raise BlueGreenError("%s rejected the query of gate %s (%s): %s; nothing was changed." % (location, gate_name, query, _error_text(body)))
    if status in (502, 503, 504) and not _is_prometheus_answer(body):
        raise BlueGreenError("%s is unreachable (HTTP %s: %s), so gate %s cannot be evaluated; nothing was changed."
                             % (location, status, _error_text(body), gate_name))
    if status != 200:
        raise BlueGreenError("%s answered HTTP %s to gate %s: %s; nothing was changed." % (location, status, gate_name, _error_text(body)))
    try:
        document = json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except (TypeError, ValueError) as exc:
        raise BlueGreenError("%s answered gate %s with something that is not JSON (%s); nothing was changed." % (location, gate_name, exc)) from exc
    if not isinstance(document, dict) or document.get("status") != "success":
        detail = document.get("error") if isinstance(document, dict) else document
        raise BlueGreenError("%s failed gate %s: %s; nothing was changed." % (location, gate_name, detail or document))
    return document.get("data") or {}


def url_fetcher(url, timeout=10, validate_certs=True, ca_path=None, token=None, headers=None):
    """A fetcher over the Prometheus HTTP API at ``url`` (GET /api/v1/query)."""
    endpoint = url.rstrip("/") + "/" + QUERY_PATH
    location = "Prometheus at %s" % without_userinfo(url)
    request_headers = dict(headers or {})
    if token:
        request_headers["Authorization"] = "Bearer %s" % token

    def fetch(query, gate_name):
        try:
            response = open_url(endpoint + "?" + urlencode({"query": query}), method="GET", timeout=timeout, validate_certs=validate_certs,
                                ca_path=ca_path, headers=request_headers)
            return interpret(location, gate_name, query, 200, response.read())
        except HTTPError as exc:
            try:
                body = exc.read()
            except Exception:  # pylint: disable=broad-except
                body = str(exc)
            return interpret(location, gate_name, query, exc.code, body)
        except (URLError, OSError, ValueError) as exc:
            raise BlueGreenError(
                "%s is unreachable (%s), so gate %s cannot be evaluated; nothing was changed." % (location, getattr(exc, "reason", exc), gate_name)
            ) from exc

    return fetch


def service_fetcher(api, service):
    """A fetcher through the API server's services proxy; ``api`` is a kube_api.KubeApi (its timeout applies)."""
    location = where({"prometheus_service": service})

    def fetch(query, gate_name):
        path = service_proxy_path(service["namespace"], service["name"], service.get("scheme") or "http", service["port"], QUERY_PATH, {"query": query})
        try:
            status, body = api.proxy_get(path)
        except ApiError as exc:
            raise BlueGreenError("%s is unreachable (%s), so gate %s cannot be evaluated; nothing was changed." % (location, exc, gate_name)) from exc
        return interpret(location, gate_name, query, status, body)

    return fetch


def make_fetcher(params, kube_api_factory=None):
    """The fetcher the parameters ask for; ``kube_api_factory(timeout)`` builds a KubeApi for the services proxy."""
    if params.get("prometheus_service"):
        return service_fetcher(kube_api_factory(params["prometheus_timeout"]), params["prometheus_service"])
    return url_fetcher(params["prometheus_url"], timeout=params["prometheus_timeout"], validate_certs=params["prometheus_validate_certs"],
                       ca_path=params.get("prometheus_ca_path"), token=params.get("prometheus_token"), headers=params.get("prometheus_headers"))
