# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's thin Kubernetes edge, shared by every module that talks to the API server.

One method per request, plain dicts in and out, one error type (ApiError with the HTTP status). Requests go by
path through the client that kubernetes.core's get_api_client builds, so every call is exactly one HTTP request
(no per-call discovery) and a module can report how many it made. The API server's proxies (pods and services)
are reached the same way, with the same kubeconfig, so the controller needs no network path into the cluster.
"""

from __future__ import annotations

import threading

from urllib.parse import quote, urlencode

try:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError
except ImportError:
    # The modules report the missing library through AnsibleK8SModule; this file must still import without it.
    class ApiException(Exception):
        """Stand-in so the except clauses below stay valid without the kubernetes library."""

    DynamicApiError = ApiException

try:
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:
    TransportError = OSError

MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """A failed Kubernetes API request; ``status`` is the HTTP status or None when no answer came."""

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


def describe_error(exc):
    """``(status, text)`` of a client exception; status None when no HTTP answer came."""
    status = getattr(exc, "status", None)
    summary = getattr(exc, "summary", None)
    if callable(summary):
        try:
            return status, "%s (HTTP %s)" % (summary(), status)
        except Exception:  # pylint: disable=broad-except
            pass
    reason = getattr(exc, "reason", None) or str(exc)
    if isinstance(status, int) and status > 0:
        return status, "%s (HTTP %s)" % (reason, status)
    return None, "no answer from the API server: %s" % reason


def pod_ready(pod):
    """The one readiness rule of the collection: the Ready condition is True and the Pod is not terminating."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def proxy_target(name, port, scheme="http"):
    """``[https:]name:port`` of a pods or services proxy path; the scheme is only written for https, as kubectl does."""
    target = "%s:%s" % (name, port)
    return "https:" + target if scheme == "https" else target


def quote_path(path):
    return quote(str(path or "").lstrip("/"), safe="/-._~")


def pod_proxy_path(namespace, name, scheme, port, path):
    return "/api/v1/namespaces/%s/pods/%s/proxy/%s" % (namespace, proxy_target(name, port, scheme), quote_path(path))


def service_proxy_path(namespace, name, scheme, port, path, query=None):
    """The services proxy path of ``path`` on the Service's ``port`` (a port name or number), with an optional query."""
    url = "/api/v1/namespaces/%s/services/%s/proxy/%s" % (namespace, proxy_target(name, port, scheme), quote_path(path))
    return url + "?" + urlencode(query) if query else url


def _json(_client, data):
    return data


class KubeApi:
    """Reads, writes and proxied GETs, one request each, counted in ``requests``."""

    error = ApiError

    def __init__(self, client, request_timeout=30):
        self.client = client
        self.request_timeout = request_timeout
        self.requests = 0
        self._counting = threading.Lock()  # independent reads may run in threads at once

    def _count(self):
        with self._counting:
            self.requests += 1

    def _call(self, method, path, body=None, label_selector=None, content_type=None, field_manager=None):
        self._count()
        params = {"serializer": _json, "_request_timeout": self.request_timeout}
        if label_selector:
            params["label_selector"] = label_selector
        if content_type:
            params["content_type"] = content_type
        if field_manager:
            params["field_manager"] = field_manager
        try:
            return self.client.request(method, path, body=body, **params)
        except (DynamicApiError, ApiException, TransportError, OSError, ValueError) as exc:
            status, message = describe_error(exc)
            raise ApiError("%s %s: %s" % (method, path, message), status=status) from exc

    def _items(self, path, label_selector=None):
        return (self._call("GET", path, label_selector=label_selector) or {}).get("items") or []

    def list_pods(self, namespace, label_selector=None):
        return self._items("/api/v1/namespaces/%s/pods" % namespace, label_selector)

    def proxy_get(self, path):
        """``(status, body)`` of a GET through one of the API server's proxies, whatever the status.

        The status and body are the proxied server's (or the API server's own when it could not reach it);
        ApiError is raised only when no HTTP answer came at all.
        """
        self._count()
        try:
            # serialize=False: the raw answer, so a 2xx other than 200 keeps its status.
            response = self.client.request("GET", path, serialize=False, _request_timeout=self.request_timeout)
            return response.status, response.data
        except ApiException as exc:
            status = getattr(exc, "status", None)
            if isinstance(status, int) and status > 0:
                return status, getattr(exc, "body", None)
            raise ApiError("GET %s: no answer: %s" % (path, getattr(exc, "reason", None) or exc)) from exc
        except (TransportError, OSError, ValueError) as exc:
            raise ApiError("GET %s: no answer: %s" % (path, exc)) from exc
