"""Discovery documents, authentication and the process lifecycle."""

import secrets
import signal
import time

import pytest
from kubernetes.client.exceptions import ApiException

from emu_support import start_emulator

EXPECTED = {
    "v1": {"namespaces": False, "pods": True, "services": True, "configmaps": True, "secrets": True, "serviceaccounts": True,
           "events": True, "endpoints": True, "persistentvolumeclaims": True, "resourcequotas": True, "limitranges": True, "nodes": False},
    "apps/v1": {"deployments": True, "replicasets": True, "statefulsets": True, "daemonsets": True},
    "autoscaling/v2": {"horizontalpodautoscalers": True},
    "batch/v1": {"jobs": True, "cronjobs": True},
    "networking.k8s.io/v1": {"ingresses": True, "networkpolicies": True, "ingressclasses": False},
    "policy/v1": {"poddisruptionbudgets": True},
    "rbac.authorization.k8s.io/v1": {"roles": True, "rolebindings": True, "clusterroles": False, "clusterrolebindings": False},
    "coordination.k8s.io/v1": {"leases": True},
    "discovery.k8s.io/v1": {"endpointslices": True},
    "events.k8s.io/v1": {"events": True},
    "apiextensions.k8s.io/v1": {"customresourcedefinitions": False},
    "monitoring.coreos.com/v1": {"servicemonitors": True, "podmonitors": True, "prometheusrules": True, "probes": True},
    "monitoring.coreos.com/v1alpha1": {"alertmanagerconfigs": True},
}


def test_unauthenticated_requests_get_401(emulator):
    for token in (False, "wrong-token"):
        status, body = emulator.http("GET", "/api/v1/namespaces", token=token)
        assert status == 401
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401
    assert emulator.http("GET", "/_emulator/stats", token=False)[0] == 401


def test_client_with_wrong_token_raises_401(emulator):
    from kubernetes import client
    configuration = client.Configuration()
    configuration.host = emulator.url
    configuration.api_key = {"authorization": "Bearer nope"}
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(client.ApiClient(configuration)).list_namespace()
    assert err.value.status == 401


def test_version_and_groups(emulator):
    status, version, headers = emulator.http_full("GET", "/version")
    assert status == 200 and version["gitVersion"].startswith("v1.30") and headers["Content-Type"] == "application/json"
    api = emulator.body("GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    groups = emulator.body("GET", "/apis")
    assert groups["kind"] == "APIGroupList"
    by_name = {g["name"]: g for g in groups["groups"]}
    for group in ("apps", "autoscaling", "batch", "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "coordination.k8s.io",
                  "discovery.k8s.io", "events.k8s.io", "apiextensions.k8s.io", "monitoring.coreos.com"):
        assert group in by_name
        # The Python client compares preferredVersion with the versions entries as whole dicts.
        assert by_name[group]["preferredVersion"] in by_name[group]["versions"]
    assert by_name["autoscaling"]["preferredVersion"]["version"] == "v2"
    assert [v["version"] for v in by_name["autoscaling"]["versions"]] == ["v2", "v1"]
    assert by_name["monitoring.coreos.com"]["preferredVersion"]["version"] == "v1"
    status, group_doc = emulator.http("GET", "/apis/apps")
    assert status == 200 and group_doc["kind"] == "APIGroup"
    assert emulator.http("GET", "/apis/nope.example.com")[0] == 404


def test_resource_lists(emulator):
    for group_version, resources in EXPECTED.items():
        path = "/api/v1" if group_version == "v1" else "/apis/" + group_version
        status, doc = emulator.http("GET", path)
        assert status == 200 and doc["kind"] == "APIResourceList" and doc["groupVersion"] == group_version
        listed = {r["name"]: r for r in doc["resources"]}
        for name, namespaced in resources.items():
            entry = listed[name]
            assert entry["namespaced"] is namespaced, name
            assert entry["singularName"] and entry["kind"] and "get" in entry["verbs"] and "list" in entry["verbs"]
    apps_doc = emulator.body("GET", "/apis/apps/v1")
    listed = {r["name"]: r for r in apps_doc["resources"]}
    assert listed["deployments"]["shortNames"] == ["deploy"]
    assert listed["deployments/status"]["kind"] == "Deployment"
    assert listed["deployments/scale"]["kind"] == "Scale" and listed["deployments/scale"]["group"] == "autoscaling"
    assert listed["deployments/scale"]["version"] == "v1"
    core_doc = emulator.body("GET", "/api/v1")
    listed = {r["name"]: r for r in core_doc["resources"]}
    assert listed["pods/proxy"]["kind"] == "PodProxyOptions"
    assert listed["services/proxy"]["kind"] == "ServiceProxyOptions"
    assert "namespaces/status" in listed and listed["services"]["shortNames"] == ["svc"]
    assert emulator.http("GET", "/apis/autoscaling/v1")[1]["resources"] == []


def test_aggregated_discovery_accept_gets_legacy_answer(emulator):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, doc, headers = emulator.http_full("GET", "/apis", headers={"Accept": accept})
    assert status == 200 and doc["kind"] == "APIGroupList" and headers["Content-Type"] == "application/json"


def test_dynamic_client_discovers_every_kind(dyn):
    kinds = [("v1", "Namespace"), ("v1", "Pod"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"),
             ("v1", "Event"), ("v1", "Endpoints"), ("v1", "PersistentVolumeClaim"), ("v1", "ResourceQuota"), ("v1", "LimitRange"),
             ("v1", "Node"), ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
             ("autoscaling/v2", "HorizontalPodAutoscaler"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
             ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"), ("networking.k8s.io/v1", "IngressClass"),
             ("policy/v1", "PodDisruptionBudget"), ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
             ("coordination.k8s.io/v1", "Lease"), ("discovery.k8s.io/v1", "EndpointSlice"), ("events.k8s.io/v1", "Event"),
             ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
             ("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"), ("monitoring.coreos.com/v1", "Probe"),
             ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig")]
    for api_version, kind in kinds:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        assert resource.kind == kind and resource.group_version == api_version
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert set(deployments.subresources) == {"status", "scale"}
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert "proxy" in pods.subresources
    assert dyn.resources.get(short_names=["deploy"]).kind == "Deployment"
    assert dyn.version["kubernetes"]["gitVersion"] == "v1.30.0"


def test_crd_registers_a_new_resource(emulator, dyn):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    status, created = emulator.http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert status == 201
    assert {c["type"]: c["status"] for c in created["status"]["conditions"]}["Established"] == "True"
    status, doc = emulator.http("GET", "/apis/example.com/v1")
    assert status == 200 and doc["resources"][0]["name"] == "widgets" and doc["resources"][1]["name"] == "widgets/status"
    emulator.http("POST", "/api/v1/namespaces", {"metadata": {"name": "w"}})
    status, widget = emulator.http("POST", "/apis/example.com/v1/namespaces/w/widgets",
                                   {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"size": 1}})
    assert status == 201 and widget["metadata"]["generation"] == 1
    listed = emulator.body("GET", "/apis/example.com/v1/namespaces/w/widgets")
    assert listed["kind"] == "WidgetList" and listed["items"][0]["kind"] == "Widget"  # custom resource items keep TypeMeta
    assert dyn.resources.get(api_version="example.com/v1", kind="Widget").namespaced
    assert emulator.http("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[0] == 200
    assert emulator.http("GET", "/apis/example.com/v1")[0] == 404
    assert emulator.http("GET", "/apis/example.com/v1/namespaces/w/widgets")[0] == 404


def test_sigterm_exits_cleanly():
    proc, port = start_emulator(secrets.token_hex(8))
    assert port > 0
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    proc.stdout.close()
