"""Defaulting, as done by the real API server's defaulters and admission, per kind.

Defaults are applied on every write (create, update, patch), so a strategic-merge patch that
re-sends the user's manifest produces exactly the stored object again and nothing changes:
kubernetes.core's idempotence relies on that. Allocated values (clusterIP, nodePort) are
carried over from the old object, as the real Service REST storage does.
"""

import base64
import binascii

from .errors import bad_request
from .util import dig, meta


def apply_defaults(rdef, obj, old, allocator):
    """Default ``obj`` in place. ``old`` is the stored object on updates, None on create."""
    if rdef.custom:
        return
    handler = _HANDLERS.get((rdef.group, rdef.kind))
    if handler:
        handler(obj, old, allocator)


def _image_pull_policy(image):
    """Always for ':latest' or untagged images, IfNotPresent otherwise (digest pins count as tagged)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _probe(probe):
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container):
    if not isinstance(container, dict):
        return
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = dig(env, "valueFrom", "fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(name))


def pod_spec_defaults(spec):
    """Defaults of a PodSpec (used for Pods and for every pod template)."""
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
        if isinstance(volume.get("projected"), dict):
            volume["projected"].setdefault("defaultMode", 420)


def _template(obj, *path):
    template = dig(obj, *path)
    if isinstance(template, dict):
        pod_spec_defaults(template.get("spec"))


def _pod(obj, old, _allocator):
    spec = obj.setdefault("spec", {})
    pod_spec_defaults(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    if old is None:
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        obj["status"].setdefault("qosClass", "BestEffort")


def _namespace(obj, _old, _allocator):
    md = meta(obj)
    md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md.get("name", "")
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _service(obj, old, allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    old_spec = (old or {}).get("spec") or {}
    if spec["type"] == "ExternalName":
        spec.setdefault("sessionAffinity", "None")
        return
    # Allocated values survive a PUT or a merge patch that does not repeat them (patchAllocatedValues).
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
        spec.setdefault("clusterIPs", old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
    if not spec.get("clusterIP"):
        spec["clusterIP"] = allocator.cluster_ip()
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    node_ports = spec["type"] in ("NodePort", "LoadBalancer")
    if node_ports:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    elif old_spec.get("type") in ("NodePort", "LoadBalancer"):
        # Switching to ClusterIP drops the fields that only make sense for node ports (dropTypeDependentFields).
        for field in ("externalTrafficPolicy", "allocateLoadBalancerNodePorts", "healthCheckNodePort", "loadBalancerClass"):
            spec.pop(field, None)
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
        if node_ports and not port.get("nodePort"):
            previous = old_ports.get((port.get("port"), port["protocol"]), {}).get("nodePort")
            port["nodePort"] = previous or allocator.node_port()
    if old is None:
        obj["status"] = {"loadBalancer": {}}


def _secret(obj, _old, _allocator):
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_request("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[%s]" % key) from exc


def _deployment(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj, "spec", "template")


def _replicaset(obj, _old, _allocator):
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj, "spec", "template")


def _statefulset(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _template(obj, "spec", "template")


def _daemonset(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj, "spec", "template")


def _job_spec(spec):
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if isinstance(spec.get("template"), dict):
        pod_spec_defaults(spec["template"].get("spec"))


def _job(obj, _old, _allocator):
    _job_spec(obj.setdefault("spec", {}))


def _cronjob(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = dig(spec, "jobTemplate", "spec")
    if isinstance(job_spec, dict):
        job_spec.setdefault("backoffLimit", 6)
        job_spec.setdefault("completionMode", "NonIndexed")
        job_spec.setdefault("suspend", False)
        if isinstance(job_spec.get("template"), dict):
            pod_spec_defaults(job_spec["template"].get("spec"))


def _hpa(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def _network_policy(obj, _old, _allocator):
    spec = obj.setdefault("spec", {})
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _ingress(obj, old, _allocator):
    if old is None:
        obj["status"] = {"loadBalancer": {}}


def _pvc(obj, old, _allocator):
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    if old is None:
        # No provisioner runs here: claims are bound at once to a made-up volume.
        storage = dig(spec, "resources", "requests", "storage", default="1Gi")
        obj["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"], "capacity": {"storage": storage}}
        spec.setdefault("volumeName", "pvc-" + meta(obj).get("uid", "emulated"))


_HANDLERS = {
    ("", "Pod"): _pod,
    ("", "Namespace"): _namespace,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "Ingress"): _ingress,
}
