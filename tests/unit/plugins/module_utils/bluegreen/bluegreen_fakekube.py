"""An in-memory stand-in for the blue/green API edge (KubeApi), for unit tests of the decision and switch logic.

It keeps Services, Deployments, Pods, Leases, HPAs and Events as JSON dicts,
applies merge patches with the resourceVersion precondition the real API
server enforces, derives EndpointSlices from selectors and Pod readiness, and
lets a test script failures per request.
"""

import copy

from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import ApiError


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def make_service(name, color, label="color", annotations=None):
    selector = {"app": name}
    if color is not None:
        selector[label] = color
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "annotations": dict(annotations or {})},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def make_deployment(service, color, replicas=2, ready=None, updated=None, available=None, generation=1, observed=1, label="color"):
    ready = replicas if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "%s-%s" % (service, color), "generation": generation, "labels": {"app": service, label: color}},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": replicas if updated is None else updated,
            "readyReplicas": ready,
            "availableReplicas": ready if available is None else available,
        },
    }


def make_pod(service, color, index, ready=True, label="color"):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "%s-%s-%d" % (service, color, index), "labels": {"app": service, label: color}},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _parse_selector(text):
    if not text:
        return None, {}
    if "=" not in text:
        return text, {}
    return None, dict(part.split("=", 1) for part in text.split(","))


class FakeKube:
    """Same methods as KubeApi; ``fail(method, name, status, apply=False)`` scripts one failure."""

    error = ApiError

    def __init__(self):
        self.services = {}
        self.deployments = {}
        self.pods = {}
        self.leases = {}
        self.hpas = {}
        self.events = []
        self.requests = 0
        self.writes = []
        self.failures = []
        self.stale_slice_reads = 0
        self._rv = 100
        self._uid = 0

    # Set-up helpers.
    def _stamp(self, obj):
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        if "uid" not in obj["metadata"]:
            self._uid += 1
            obj["metadata"]["uid"] = "uid-%d" % self._uid
        return obj

    def add(self, obj):
        kind = obj["kind"]
        store = {"Service": self.services, "Deployment": self.deployments, "Pod": self.pods, "Lease": self.leases,
                 "HorizontalPodAutoscaler": self.hpas}[kind]
        store[obj["metadata"]["name"]] = self._stamp(copy.deepcopy(obj))
        return store[obj["metadata"]["name"]]

    def group(self, names, active="blue", target="green", replicas=2, target_ready=True):
        for name in names:
            self.add(make_service(name, active))
            for color in (active, target):
                ready_pods = replicas if (color == active or target_ready) else 0
                self.add(make_deployment(name, color, replicas=replicas, ready=ready_pods))
                for index in range(replicas):
                    self.add(make_pod(name, color, index, ready=index < ready_pods))

    def fail(self, method, name, status, apply=False, times=1, to_color=None, when=None):
        """The next ``times`` requests ``method`` on ``name`` fail with ``status``.

        ``apply`` makes the write land anyway (an ambiguous 500); ``to_color`` limits the rule to Service
        patches that set that color (so a test can fail only the reverts); ``when(patch)`` limits it to the
        Service patches it returns true for.
        """
        for _attempt in range(times):
            self.failures.append({"method": method, "name": name, "status": status, "apply": apply, "to_color": to_color, "when": when})

    def colors(self, names, label="color"):
        return dict((name, self.services[name]["spec"]["selector"].get(label)) for name in names)

    # The request surface.
    def _request(self, method, name=None, write=False, color=None, patch=None):
        self.requests += 1
        if write:
            self.writes.append((method, name))
        for index, rule in enumerate(self.failures):
            if rule["to_color"] is not None and rule["to_color"] != color:
                continue
            if rule["when"] is not None and (patch is None or not rule["when"](patch)):
                continue
            if rule["method"] == method and rule["name"] in (name, "*"):
                del self.failures[index]
                return rule
        return None

    @staticmethod
    def _raise(rule, what):
        raise ApiError("%s: scripted failure (HTTP %s)" % (what, rule["status"]), status=rule["status"])

    def list_services(self, namespace):
        rule = self._request("list_services")
        if rule:
            self._raise(rule, "list services")
        return copy.deepcopy(list(self.services.values()))

    def get_service(self, namespace, name):
        rule = self._request("get_service", name)
        if rule:
            self._raise(rule, "get service %s" % name)
        if name not in self.services:
            raise ApiError("service %s not found (HTTP 404)" % name, status=404)
        return copy.deepcopy(self.services[name])

    def list_deployments(self, namespace):
        self._request("list_deployments")
        return copy.deepcopy(list(self.deployments.values()))

    def list_pods(self, namespace, label_selector=None):
        self._request("list_pods")
        _exists, wanted = _parse_selector(label_selector)
        return copy.deepcopy([pod for pod in self.pods.values() if all(pod["metadata"]["labels"].get(k) == v for k, v in wanted.items())])

    def list_endpointslices(self, namespace, label_selector=None):
        rule = self._request("list_endpointslices")
        if rule:
            self._raise(rule, "list endpointslices")
        slices = []
        for name, service in self.services.items():
            selector = dict(service["spec"].get("selector") or {})
            if self.stale_slice_reads > 0 and "stale_selector" in service:
                selector = service["stale_selector"]
            endpoints = []
            for pod in self.pods.values():
                if selector and all(pod["metadata"]["labels"].get(k) == v for k, v in selector.items()):
                    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
                    endpoints.append({"addresses": ["10.0.0.1"], "conditions": {"ready": ready}, "targetRef": {"kind": "Pod", "name": pod["metadata"]["name"]}})
            slices.append({"metadata": {"name": name + "-x", "labels": {"kubernetes.io/service-name": name}}, "endpoints": endpoints})
        self.stale_slice_reads = max(0, self.stale_slice_reads - 1)
        return slices

    def list_hpas(self, namespace):
        self._request("list_hpas")
        return copy.deepcopy(list(self.hpas.values()))

    def get_lease(self, namespace, name):
        self._request("get_lease", name)
        return copy.deepcopy(self.leases.get(name))

    def patch_service(self, namespace, name, patch):
        rule = self._request("patch_service", name, write=True, color=((patch.get("spec") or {}).get("selector") or {}).get("color"), patch=patch)
        service = self.services.get(name)
        if service is None:
            raise ApiError("service %s not found (HTTP 404)" % name, status=404)
        if rule and not rule["apply"]:
            self._raise(rule, "patch service %s" % name)
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != service["metadata"]["resourceVersion"]:
            raise ApiError("the object has been modified (HTTP 409)", status=409)
        patched = merge_patch(service, patch)
        patched.pop("stale_selector", None)
        patched["stale_selector"] = service["spec"]["selector"]
        self.services[name] = self._stamp(patched)
        if rule:
            self._raise(rule, "patch service %s" % name)
        return copy.deepcopy(self.services[name])

    def edit_service(self, name, patch):
        """A concurrent editor: changes the object (and its resourceVersion) without counting as our request."""
        self.services[name] = self._stamp(merge_patch(self.services[name], patch))

    def create_lease(self, namespace, body):
        rule = self._request("create_lease", body["metadata"]["name"], write=True)
        if rule:
            self._raise(rule, "create lease")
        name = body["metadata"]["name"]
        if name in self.leases:
            raise ApiError("lease already exists (HTTP 409)", status=409)
        self.leases[name] = self._stamp(copy.deepcopy(body))
        return copy.deepcopy(self.leases[name])

    def replace_lease(self, namespace, name, body):
        rule = self._request("replace_lease", name, write=True)
        if rule:
            self._raise(rule, "replace lease")
        current = self.leases.get(name)
        if current is None:
            raise ApiError("lease not found (HTTP 404)", status=404)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiError("the object has been modified (HTTP 409)", status=409)
        replaced = copy.deepcopy(body)
        replaced["metadata"]["uid"] = current["metadata"]["uid"]
        self.leases[name] = self._stamp(replaced)
        return copy.deepcopy(self.leases[name])

    def delete_lease(self, namespace, name, preconditions):
        rule = self._request("delete_lease", name, write=True)
        if rule:
            self._raise(rule, "delete lease")
        current = self.leases.get(name)
        if current is None:
            raise ApiError("lease not found (HTTP 404)", status=404)
        for key in ("uid", "resourceVersion"):
            if key in (preconditions or {}) and preconditions[key] != current["metadata"][key]:
                raise ApiError("precondition failed (HTTP 409)", status=409)
        del self.leases[name]
        return {}

    def create_event(self, namespace, body):
        rule = self._request("create_event", body["metadata"]["name"], write=True)
        if rule:
            self._raise(rule, "create event")
        self.events.append(copy.deepcopy(body))
        return body
