"""The discovery table: which groups, versions and resources the emulator serves.

Built-in resources are listed here. Custom resources are registered at run time from
CustomResourceDefinition objects (the monitoring.coreos.com CRDs exist from the start,
as on a cluster with prometheus-operator installed).
"""

import dataclasses
import re

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")
PROXY_VERBS = ("create", "delete", "get", "patch", "update")

# Kinds for the proxy subresources, as the real discovery documents name them.
PROXY_KINDS = {"pods": "PodProxyOptions", "services": "ServiceProxyOptions", "nodes": "NodeProxyOptions"}


@dataclasses.dataclass
class ResourceDef:
    """One resource type in one group/version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple = ()
    subresources: tuple = ()
    verbs: tuple = ALL_VERBS
    categories: tuple = ()
    # Served from a CustomResourceDefinition: no strategic merge patch, list items keep kind/apiVersion.
    custom: bool = False
    # Whether metadata.generation is maintained (only some kinds have it on a real cluster).
    generation: bool = False

    @property
    def group_version(self):
        """'apps/v1' or 'v1'."""
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def store_key(self):
        """Objects of all versions of a group/resource share one storage bucket (like etcd)."""
        return (self.group, self.plural)

    @property
    def has_status(self):
        """True when writes to the main resource must ignore .status (a status subresource exists)."""
        return "status" in self.subresources

    def api_resources(self):
        """APIResource entries (the resource and its subresources) for an APIResourceList."""
        entry = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        for sub in self.subresources:
            item = {"name": "%s/%s" % (self.plural, sub), "singularName": "", "namespaced": self.namespaced, "kind": self.kind, "verbs": list(SUB_VERBS)}
            if sub == "scale":
                item.update(group="autoscaling", version="v1", kind="Scale")
            elif sub == "proxy":
                item.update(kind=PROXY_KINDS[self.plural], verbs=list(PROXY_VERBS))
            elif sub == "log":
                item.update(verbs=["get"])
            elif sub == "finalize":
                item.update(verbs=["update"])
            entries.append(item)
        return entries


def _r(group, version, plural, kind, namespaced=True, short=(), sub=(), generation=False, verbs=ALL_VERBS, categories=()):
    return ResourceDef(group=group, version=version, plural=plural, singular=kind.lower(), kind=kind, namespaced=namespaced,
                       short_names=tuple(short), subresources=tuple(sub), verbs=verbs, generation=generation, categories=tuple(categories))


BUILTIN = [
    # core/v1
    _r("", "v1", "namespaces", "Namespace", namespaced=False, short=["ns"], sub=["status", "finalize"], verbs=NO_COLLECTION_DELETE),
    _r("", "v1", "pods", "Pod", short=["po"], sub=["status", "proxy", "log"], categories=["all"]),
    _r("", "v1", "services", "Service", short=["svc"], sub=["status", "proxy"], verbs=NO_COLLECTION_DELETE, categories=["all"]),
    _r("", "v1", "configmaps", "ConfigMap", short=["cm"]),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"]),
    _r("", "v1", "events", "Event", short=["ev"]),
    _r("", "v1", "endpoints", "Endpoints", short=["ep"]),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=["pvc"], sub=["status"]),
    _r("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=["pv"], sub=["status"]),
    _r("", "v1", "resourcequotas", "ResourceQuota", short=["quota"], sub=["status"]),
    _r("", "v1", "limitranges", "LimitRange", short=["limits"]),
    _r("", "v1", "nodes", "Node", namespaced=False, short=["no"], sub=["status", "proxy"]),
    # apps/v1
    _r("apps", "v1", "deployments", "Deployment", short=["deploy"], sub=["status", "scale"], generation=True, categories=["all"]),
    _r("apps", "v1", "replicasets", "ReplicaSet", short=["rs"], sub=["status", "scale"], generation=True, categories=["all"]),
    _r("apps", "v1", "statefulsets", "StatefulSet", short=["sts"], sub=["status", "scale"], generation=True, categories=["all"]),
    _r("apps", "v1", "daemonsets", "DaemonSet", short=["ds"], sub=["status"], generation=True, categories=["all"]),
    # autoscaling: v2 serves HPAs; v1 is listed because the Scale kind of */scale lives there.
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=["hpa"], sub=["status"], generation=True, categories=["all"]),
    # batch/v1
    _r("batch", "v1", "jobs", "Job", sub=["status"], generation=True, categories=["all"]),
    _r("batch", "v1", "cronjobs", "CronJob", short=["cj"], sub=["status"], generation=True, categories=["all"]),
    # networking.k8s.io/v1
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", short=["ing"], sub=["status"], generation=True),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=["netpol"], generation=True),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False, generation=True),
    # policy/v1
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=["pdb"], sub=["status"], generation=True),
    # rbac.authorization.k8s.io/v1
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    # coordination / discovery / events
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", generation=True),
    _r("events.k8s.io", "v1", "events", "Event", short=["ev"]),
    # apiextensions / storage
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False, short=["crd", "crds"],
       sub=["status"], generation=True),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short=["sc"]),
]

# Group/versions that are served even when they hold no top-level resource.
EXTRA_GROUP_VERSIONS = [("autoscaling", "v1")]

# Preferred version order inside a group for built-in groups (first = preferred).
BUILTIN_VERSION_ORDER = {"autoscaling": ["v2", "v1"]}

# The prometheus-operator CRDs that exist from the start: (plural, kind, short names, versions).
MONITORING_CRDS = [
    ("servicemonitors", "ServiceMonitor", ["smon"], ["v1"]),
    ("podmonitors", "PodMonitor", ["pmon"], ["v1"]),
    ("prometheusrules", "PrometheusRule", ["promrule"], ["v1"]),
    ("probes", "Probe", ["prb"], ["v1"]),
    ("prometheuses", "Prometheus", ["prom"], ["v1"]),
    ("alertmanagers", "Alertmanager", ["am"], ["v1"]),
    ("alertmanagerconfigs", "AlertmanagerConfig", ["amcfg"], ["v1alpha1"]),
]


def monitoring_crd(plural, kind, short_names, versions):
    """A CustomResourceDefinition object for one prometheus-operator resource."""
    group = "monitoring.coreos.com"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.%s" % (plural, group), "labels": {"app.kubernetes.io/part-of": "prometheus-operator"}},
        "spec": {
            "group": group,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List",
                      "shortNames": list(short_names), "categories": ["prometheus-operator"]},
            "scope": "Namespaced",
            "versions": [{"name": v, "served": True, "storage": i == 0,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
                         for i, v in enumerate(versions)],
        },
    }


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version):
    """Sort key giving Kubernetes' version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others)."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


class Registry:
    """All served resource types, indexed for URL routing and discovery."""

    def __init__(self):
        self._defs = {}  # (group, version) -> {plural: ResourceDef}
        self._store_keys = None  # cache for store_keys(), dropped whenever the table changes
        for rdef in BUILTIN:
            self.add(rdef)
        for group, version in EXTRA_GROUP_VERSIONS:
            self._defs.setdefault((group, version), {})

    def add(self, rdef):
        """Register (or replace) a resource type."""
        self._store_keys = None
        self._defs.setdefault((rdef.group, rdef.version), {})[rdef.plural] = rdef

    def remove_group_resource(self, group, plural):
        """Unregister a resource type in every version (CRD deleted)."""
        self._store_keys = None
        for (grp, version) in list(self._defs):
            if grp == group:
                self._defs[(grp, version)].pop(plural, None)
                if not self._defs[(grp, version)] and (grp, version) not in EXTRA_GROUP_VERSIONS:
                    del self._defs[(grp, version)]

    def lookup(self, group, version, plural):
        """ResourceDef for a URL, or None."""
        return self._defs.get((group, version), {}).get(plural)

    def by_store_key(self, key):
        """Some ResourceDef (preferred version) for a storage bucket."""
        group, plural = key
        for version in self.versions(group):
            rdef = self.lookup(group, version, plural)
            if rdef:
                return rdef
        return None

    def by_kind(self, group, kind):
        """Preferred ResourceDef for a group and kind (used for ownerReferences and HPA targets)."""
        for version in self.versions(group):
            for rdef in self._defs[(group, version)].values():
                if rdef.kind == kind:
                    return rdef
        return None

    def all_defs(self):
        """Every registered ResourceDef (one per version)."""
        return [rdef for defs in self._defs.values() for rdef in defs.values()]

    def store_keys(self):
        """One (group, plural) per stored resource, with its preferred ResourceDef."""
        if self._store_keys is None:
            keys = {}
            for rdef in self.all_defs():
                keys.setdefault(rdef.store_key, self.by_store_key(rdef.store_key))
            self._store_keys = keys
        return self._store_keys

    def groups(self):
        """Group names in a stable order (built-ins first, like the real server)."""
        seen = []
        for group, unused_version in self._defs:
            if group and group not in seen:
                seen.append(group)
        return seen

    def versions(self, group):
        """Versions of a group, preferred first."""
        versions = [v for (g, v) in self._defs if g == group]
        order = BUILTIN_VERSION_ORDER.get(group)
        if order:
            return sorted(versions, key=lambda v: order.index(v) if v in order else len(order))
        return sorted(versions, key=version_priority)

    # ---- discovery documents -------------------------------------------------

    def api_versions(self, server_address):
        """GET /api."""
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    def api_group(self, group):
        """One APIGroup entry (also the body of GET /apis/<group>)."""
        versions = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in self.versions(group)]
        return {"name": group, "versions": versions, "preferredVersion": dict(versions[0])}

    def api_group_list(self):
        """GET /apis. preferredVersion must equal one versions entry: the Python client compares the dicts."""
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self.api_group(g) for g in self.groups()]}

    def api_resource_list(self, group, version):
        """GET /api/v1 or /apis/<group>/<version>, or None when not served."""
        defs = self._defs.get((group, version))
        if defs is None:
            return None
        resources = []
        for rdef in sorted(defs.values(), key=lambda d: d.plural):
            resources.extend(rdef.api_resources())
        group_version = "%s/%s" % (group, version) if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
