# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The thin Kubernetes edge of the blue/green modules.

One method per request, plain dicts in and out, one error type (ApiError with
the HTTP status). Requests go by path through the client that kubernetes.core's
get_api_client builds, so every call is exactly one HTTP request (no per-call
discovery) and the module can report how many it made.
"""

from __future__ import annotations

try:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError
except ImportError:
    # The module reports the missing library through AnsibleK8SModule; this file must still import without it.
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

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _describe(exc):
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


def _json(_client, data):
    return data


class KubeApi:
    """Blue/green reads and writes, one request each, counted in ``requests``."""

    error = ApiError

    def __init__(self, client, request_timeout=30):
        self.client = client
        self.request_timeout = request_timeout
        self.requests = 0

    def _call(self, method, path, body=None, label_selector=None, content_type=None):
        self.requests += 1
        params = {"serializer": _json, "_request_timeout": self.request_timeout}
        if label_selector:
            params["label_selector"] = label_selector
        if content_type:
            params["content_type"] = content_type
        try:
            return self.client.request(method, path, body=body, **params)
        except (DynamicApiError, ApiException, TransportError, OSError, ValueError) as exc:
            status, message = _describe(exc)
            raise ApiError("%s %s: %s" % (method, path, message), status=status) from exc

    def _items(self, path, label_selector=None):
        return (self._call("GET", path, label_selector=label_selector) or {}).get("items") or []

    # Reads: one list per kind and namespace, narrowed by label selector where the caller can.
    def list_services(self, namespace):
        return self._items("/api/v1/namespaces/%s/services" % namespace)

    def get_service(self, namespace, name):
        return self._call("GET", "/api/v1/namespaces/%s/services/%s" % (namespace, name))

    def list_deployments(self, namespace):
        return self._items("/apis/apps/v1/namespaces/%s/deployments" % namespace)

    def list_pods(self, namespace, label_selector=None):
        return self._items("/api/v1/namespaces/%s/pods" % namespace, label_selector)

    def list_endpointslices(self, namespace, label_selector=None):
        return self._items("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % namespace, label_selector)

    def list_hpas(self, namespace):
        return self._items("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % namespace)

    def get_lease(self, namespace, name):
        try:
            return self._call("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s" % (namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    # Writes.
    def patch_service(self, namespace, name, patch):
        return self._call("PATCH", "/api/v1/namespaces/%s/services/%s" % (namespace, name), body=patch, content_type=MERGE_PATCH)

    def create_lease(self, namespace, body):
        return self._call("POST", "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % namespace, body=body)

    def replace_lease(self, namespace, name, body):
        return self._call("PUT", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s" % (namespace, name), body=body)

    def delete_lease(self, namespace, name, preconditions):
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if preconditions:
            body["preconditions"] = preconditions
        return self._call("DELETE", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s" % (namespace, name), body=body)

    def create_event(self, namespace, body):
        return self._call("POST", "/api/v1/namespaces/%s/events" % namespace, body=body)
