# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The blue/green requests: Services, Deployments, EndpointSlices, HPAs, the Lease and Events.

The generic edge (one request per method, ApiError, the proxies) is module_utils/kube_api.py's; this adds the
requests the switch and its info module make, one each.
"""

from __future__ import annotations

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import SELECTOR_FIELD_MANAGER
from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import MERGE_PATCH, ApiError, KubeApi

__all__ = ["ApiError", "BlueGreenApi"]


class BlueGreenApi(KubeApi):
    """Blue/green reads and writes, one request each, counted in ``requests``."""

    # Reads: one list per kind and namespace, narrowed by label selector where the caller can.
    def list_services(self, namespace):
        return self._items("/api/v1/namespaces/%s/services" % namespace)

    def get_service(self, namespace, name):
        return self._call("GET", "/api/v1/namespaces/%s/services/%s" % (namespace, name))

    def list_deployments(self, namespace):
        return self._items("/apis/apps/v1/namespaces/%s/deployments" % namespace)

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
        """A merge patch as the switch's field manager, which so owns the color each Service selects."""
        return self._call("PATCH", "/api/v1/namespaces/%s/services/%s" % (namespace, name), body=patch, content_type=MERGE_PATCH,
                          field_manager=SELECTOR_FIELD_MANAGER)

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
