"""Validation that the real API server performs and that our roles could trip over.

Each check returns FieldErrors; ``validate`` raises one 422 Invalid with all of them, with
field paths and wording close to the real messages.
"""

import re

from .errors import (duplicate, forbidden, invalid, invalid_value, required, unsupported)
from .selectors import selector_matches
from .util import dig

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                 "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an "
             "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end "
               "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                   "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
LABEL_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                  "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                  "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")

RBAC_KINDS = ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")


def validate(rdef, obj, old):
    """Raise 422 Invalid when obj (the object about to be stored) is not acceptable."""
    name = dig(obj, "metadata", "name", default="")
    errors = _name_errors(rdef, name) + _metadata_errors(obj)
    if not rdef.custom:
        check = _KIND_CHECKS.get((rdef.group, rdef.kind))
        if check:
            errors.extend(check(obj, old or {}))
    if errors:
        raise invalid(rdef, name, errors)


def _name_errors(rdef, name):
    if not name:
        return [required("metadata.name", "name or generateName is required")]
    if rdef.kind in RBAC_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid_value("metadata.name", name, "may not contain '/' or '%' and may not be '.' or '..'")]
        return []
    if rdef.kind == "Namespace":
        pattern, message, limit = DNS1123_LABEL, LABEL_MSG, 63
    elif rdef.kind == "Service":
        pattern, message, limit = DNS1035_LABEL, DNS1035_MSG, 63
    else:
        pattern, message, limit = DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253
    errors = []
    if len(name) > limit:
        errors.append(invalid_value("metadata.name", name, "must be no more than %d characters" % limit))
    if not pattern.match(name):
        errors.append(invalid_value("metadata.name", name, message))
    return errors


def _key_errors(field, key):
    prefix, unused_slash, name_part = key.rpartition("/")
    errors = []
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        errors.append(invalid_value(field, key, "prefix part " + SUBDOMAIN_MSG))
    if not name_part or len(name_part) > 63 or not LABEL_NAME.match(name_part):
        errors.append(invalid_value(field, key, LABEL_NAME_MSG))
    return errors


def _metadata_errors(obj):
    md = obj.get("metadata") or {}
    errors = _labels_errors("metadata.labels", md.get("labels"))
    for key in (md.get("annotations") or {}):
        errors.extend(_key_errors("metadata.annotations", key))
    return errors


def _labels_errors(field, labels):
    errors = []
    for key, value in (labels or {}).items():
        errors.extend(_key_errors(field, key))
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(invalid_value(field, value, LABEL_VALUE_MSG))
    return errors


def _containers_errors(field, containers, required_list=True):
    errors = []
    if not containers:
        return [required(field)] if required_list else []
    seen = set()
    for i, container in enumerate(containers):
        path = "%s[%d]" % (field, i)
        if not isinstance(container, dict):
            errors.append(invalid_value(path, container, "must be an object"))
            continue
        cname = container.get("name")
        if not cname:
            errors.append(required(path + ".name"))
        elif not DNS1123_LABEL.match(cname):
            errors.append(invalid_value(path + ".name", cname, LABEL_MSG))
        elif cname in seen:
            errors.append(duplicate(path + ".name", cname))
        seen.add(cname)
        if not container.get("image"):
            errors.append(required(path + ".image"))
        for j, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 1 <= number <= 65535:
                errors.append(invalid_value("%s.ports[%d].containerPort" % (path, j), number, "must be between 1 and 65535, inclusive"))
    return errors


def _pod_spec_errors(field, spec, restart_policies=None):
    spec = spec or {}
    errors = _containers_errors(field + ".containers", spec.get("containers"))
    errors.extend(_containers_errors(field + ".initContainers", spec.get("initContainers"), required_list=False))
    policy = spec.get("restartPolicy")
    if restart_policies and policy not in restart_policies:
        errors.append(unsupported(field + ".restartPolicy", policy, restart_policies))
    return errors


def _workload(obj, old, restart_policies=("Always",), kind_name="deployment"):
    errors = []
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    labels = dig(spec, "template", "metadata", "labels") or {}
    if selector is None:
        errors.append(required("spec.selector"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.append(invalid_value("spec.selector", selector, "empty selector is invalid for %s" % kind_name))
    elif not selector_matches(selector, labels):
        errors.append(invalid_value("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    old_selector = dig(old, "spec", "selector")
    if old and old_selector is not None and selector != old_selector:
        errors.append(invalid_value("spec.selector", selector, "field is immutable"))
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        errors.append(invalid_value("spec.replicas", replicas, "must be greater than or equal to 0"))
    errors.extend(_labels_errors("spec.template.metadata.labels", labels))
    errors.extend(_pod_spec_errors("spec.template.spec", dig(spec, "template", "spec"), restart_policies))
    return errors


def _deployment(obj, old):
    errors = _workload(obj, old)
    strategy = dig(obj, "spec", "strategy") or {}
    if strategy.get("type") not in ("RollingUpdate", "Recreate"):
        errors.append(unsupported("spec.strategy.type", strategy.get("type"), ["Recreate", "RollingUpdate"]))
    elif strategy["type"] == "Recreate" and strategy.get("rollingUpdate") is not None:
        errors.append(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"))
    elif strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        if rolling.get("maxSurge") in (0, "0%") and rolling.get("maxUnavailable") in (0, "0%"):
            errors.append(invalid_value("spec.strategy.rollingUpdate.maxUnavailable", rolling.get("maxUnavailable"),
                                        "may not be 0 when `maxSurge` is 0"))
    return errors


def _replicaset(obj, old):
    return _workload(obj, old, kind_name="replicaset")


def _statefulset(obj, old):
    return _workload(obj, old, kind_name="statefulset")


def _daemonset(obj, old):
    errors = _workload(obj, old, kind_name="daemonset")
    return [e for e in errors if e.field != "spec.replicas"]


def _pod(obj, old):
    errors = _pod_spec_errors("spec", obj.get("spec"))
    if old:
        old_images = [c.get("image") for c in dig(old, "spec", "containers") or []]
        new_names = [c.get("name") for c in dig(obj, "spec", "containers") or []]
        old_names = [c.get("name") for c in dig(old, "spec", "containers") or []]
        if new_names != old_names or len(old_images) != len(new_names):
            errors.append(forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`, "
                                            "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` "
                                            "(only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`"))
    return errors


SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _service(obj, old):
    errors = []
    spec = obj.get("spec") or {}
    svc_type = spec.get("type")
    if svc_type not in SERVICE_TYPES:
        return [unsupported("spec.type", svc_type, SERVICE_TYPES)]
    if svc_type == "ExternalName":
        if not spec.get("externalName"):
            errors.append(required("spec.externalName"))
        return errors
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    names = set()
    for i, port in enumerate(ports):
        path = "spec.ports[%d]" % i
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid_value(path + ".port", number, "must be between 1 and 65535, inclusive"))
        pname = (port or {}).get("name")
        if len(ports) > 1 and not pname:
            errors.append(required(path + ".name"))
        elif pname and pname in names:
            errors.append(duplicate(path + ".name", pname))
        if pname:
            names.add(pname)
        if port.get("protocol") not in ("TCP", "UDP", "SCTP"):
            errors.append(unsupported(path + ".protocol", port.get("protocol"), ["SCTP", "TCP", "UDP"]))
    old_ip = dig(old, "spec", "clusterIP")
    if old and old_ip and spec.get("clusterIP") != old_ip and dig(old, "spec", "type") != "ExternalName":
        errors.append(invalid_value("spec.clusterIP", spec.get("clusterIP"), "field is immutable"))
    return errors


def _config_keys(obj, old, fields):
    errors = []
    for field in fields:
        for key in obj.get(field) or {}:
            if not CONFIG_KEY.match(key) or len(key) > 253:
                errors.append(invalid_value("%s[%s]" % (field, key), key, CONFIG_KEY_MSG))
    if old and old.get("immutable"):
        if not obj.get("immutable"):
            errors.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for field in fields:
            if (obj.get(field) or {}) != (old.get(field) or {}):
                errors.append(forbidden(field, "field is immutable when `immutable` is set"))
    return errors


def _configmap(obj, old):
    return _config_keys(obj, old, ("data", "binaryData"))


def _secret(obj, old):
    errors = _config_keys(obj, old, ("data",))
    if old and obj.get("type") != old.get("type"):
        errors.append(invalid_value("type", obj.get("type"), "field is immutable"))
    return errors


def _hpa(obj, _old):
    errors = []
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        errors.append(required("spec.scaleTargetRef.kind"))
    if not ref.get("name"):
        errors.append(required("spec.scaleTargetRef.name"))
    max_r, min_r = spec.get("maxReplicas"), spec.get("minReplicas")
    if not isinstance(max_r, int) or max_r < 1:
        errors.append(invalid_value("spec.maxReplicas", max_r, "must be greater than or equal to 1"))
    elif isinstance(min_r, int) and min_r > max_r:
        errors.append(invalid_value("spec.minReplicas", min_r, "must be less than or equal to maxReplicas"))
    if isinstance(min_r, int) and min_r < 1:
        errors.append(invalid_value("spec.minReplicas", min_r, "must be greater than or equal to 1"))
    return errors


def _pdb(obj, _old):
    spec = obj.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return [invalid_value("spec", spec, "minAvailable and maxUnavailable cannot be both set")]
    return []


def _ingress(obj, _old):
    errors = []
    for i, rule in enumerate(dig(obj, "spec", "rules") or []):
        for j, path in enumerate(dig(rule, "http", "paths") or []):
            field = "spec.rules[%d].http.paths[%d]" % (i, j)
            if not path.get("pathType"):
                errors.append(required(field + ".pathType", "pathType must be specified"))
            elif path["pathType"] not in ("Exact", "Prefix", "ImplementationSpecific"):
                errors.append(unsupported(field + ".pathType", path["pathType"], ["Exact", "ImplementationSpecific", "Prefix"]))
            if not path.get("backend"):
                errors.append(required(field + ".backend"))
    return errors


def _job(obj, old):
    errors = _pod_spec_errors("spec.template.spec", dig(obj, "spec", "template", "spec"), ["OnFailure", "Never"])
    if old and dig(old, "spec", "template") != dig(obj, "spec", "template"):
        errors.append(invalid_value("spec.template", dig(obj, "spec", "template"), "field is immutable"))
    return errors


def _cronjob(obj, _old):
    errors = []
    if not dig(obj, "spec", "schedule"):
        errors.append(required("spec.schedule"))
    errors.extend(_pod_spec_errors("spec.jobTemplate.spec.template.spec", dig(obj, "spec", "jobTemplate", "spec", "template", "spec"),
                                   ["OnFailure", "Never"]))
    return errors


def _endpointslice(obj, _old):
    address_type = obj.get("addressType")
    if not address_type:
        return [required("addressType")]
    if address_type not in ("IPv4", "IPv6", "FQDN"):
        return [unsupported("addressType", address_type, ["FQDN", "IPv4", "IPv6"])]
    return []


def _lease(obj, _old):
    duration = dig(obj, "spec", "leaseDurationSeconds")
    if duration is not None and (not isinstance(duration, int) or duration <= 0):
        return [invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0")]
    return []


def _crd(obj, _old):
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    for field in ("plural", "kind"):
        if not names.get(field):
            errors.append(required("spec.names." + field))
    if not spec.get("group"):
        errors.append(required("spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(unsupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    if not spec.get("versions"):
        errors.append(required("spec.versions"))
    name = dig(obj, "metadata", "name")
    if names.get("plural") and spec.get("group") and name != "%s.%s" % (names["plural"], spec["group"]):
        errors.append(invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    return errors


def _core_event(obj, _old):
    involved = dig(obj, "involvedObject", "namespace")
    namespace = dig(obj, "metadata", "namespace")
    if involved and involved != namespace:
        return [invalid_value("involvedObject.namespace", involved, "does not match event.namespace")]
    return []


def _events_v1_event(obj, _old):
    """events.k8s.io/v1 requires the fields the new Event API is built on."""
    errors = [required(field) for field in ("eventTime", "reportingController", "reportingInstance", "action", "reason") if not obj.get(field)]
    if obj.get("type") not in ("Normal", "Warning"):
        errors.append(unsupported("type", obj.get("type"), ["Normal", "Warning"]))
    regarding = dig(obj, "regarding", "namespace")
    if regarding and regarding != dig(obj, "metadata", "namespace"):
        errors.append(invalid_value("regarding.namespace", regarding, "does not match event.namespace"))
    return errors


_KIND_CHECKS = {
    ("", "Event"): _core_event,
    ("events.k8s.io", "Event"): _events_v1_event,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "ConfigMap"): _configmap,
    ("", "Secret"): _secret,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("policy", "PodDisruptionBudget"): _pdb,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("discovery.k8s.io", "EndpointSlice"): _endpointslice,
    ("coordination.k8s.io", "Lease"): _lease,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}
