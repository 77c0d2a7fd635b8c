"""The sandbox's Kubernetes is a real control plane: TLS, RBAC, Pod Security, controllers, kwok's pods
at their own IPs answered by the stand-in, the monitoring CRDs' schemas, and the faults of the proxy.

Everything goes through the kubeconfig `make sandbox-up` writes (the fault proxy in front of
kube-apiserver), as any client of a cluster would.
"""

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.request
import uuid

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

K8S_VERSION_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "sandbox", "k8s", "kubernetes", "go.mod")


def pinned_version():
    with open(K8S_VERSION_FILE, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("require k8s.io/kubernetes "):
                return line.split()[2]
    raise AssertionError("no `require k8s.io/kubernetes` line in %s" % K8S_VERSION_FILE)


@pytest.fixture(scope="module")
def api(sandbox):
    return k8s_config.new_client_from_config(config_file=sandbox["SANDBOX_K8S_KUBECONFIG"])


@pytest.fixture(scope="module")
def core(api):
    return k8s.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api):
    return k8s.AppsV1Api(api)


@pytest.fixture
def ns(core):
    name = "ks-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}})
    yield name
    core.delete_namespace(name)


def wait(predicate, timeout=30, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, message))


RESTRICTED_POD_SPEC = {
    "automountServiceAccountToken": False,
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{
        "name": "app", "image": "registry.example/app:1",
        "ports": [{"name": "http", "containerPort": 8080}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }],
}


def deployment(name, replicas=2, spec=None):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec or RESTRICTED_POD_SPEC}}}


def ready_pods(core, ns, name, count):
    pods = core.list_namespaced_pod(ns, label_selector="app=" + name).items
    ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
    return ready if len(ready) == count else None


def test_server_reports_the_pinned_version_over_verified_tls(sandbox, api):
    with open(sandbox["SANDBOX_K8S_KUBECONFIG"], encoding="utf-8") as handle:
        kubeconfig = json.load(handle)
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert "insecure-skip-tls-verify" not in cluster
    assert cluster["certificate-authority"] == sandbox["SANDBOX_K8S_CA"]
    assert k8s.VersionApi(api).get_code().git_version == pinned_version()
    # Python's strict verification accepts the sandbox CA; a client that does not trust it is refused.
    strict = ssl.create_default_context(cafile=sandbox["SANDBOX_K8S_CA"])
    assert strict.verify_flags & ssl.VERIFY_X509_STRICT
    with urllib.request.urlopen(sandbox["SANDBOX_K8S_URL"] + "/version", context=strict, timeout=10) as response:
        assert json.load(response)["gitVersion"] == pinned_version()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sandbox["SANDBOX_K8S_URL"] + "/version", verify=True, timeout=10)


def test_kubectl_talks_to_it_through_the_kubeconfig(sandbox):
    kubectl = sandbox["SANDBOX_KUBECTL"]
    proc = subprocess.run([kubectl, "--kubeconfig", sandbox["SANDBOX_K8S_KUBECONFIG"], "version", "-o", "json"],
                          capture_output=True, text=True, check=True, timeout=60)
    versions = json.loads(proc.stdout)
    assert versions["serverVersion"]["gitVersion"] == versions["clientVersion"]["gitVersion"] == pinned_version()
    nodes = subprocess.run([kubectl, "--kubeconfig", sandbox["SANDBOX_K8S_KUBECONFIG"], "get", "nodes", "-o", "json"],
                           capture_output=True, text=True, check=True, timeout=60)
    ready = [n["metadata"]["name"] for n in json.loads(nodes.stdout)["items"]
             if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]
    assert len(ready) >= 2, nodes.stdout


def test_restricted_pod_security_rejects_a_privileged_pod_and_admits_a_compliant_one(core, ns):
    privileged = {"metadata": {"name": "privileged"}, "spec": {"containers": [
        {"name": "app", "image": "registry.example/app:1", "securityContext": {"privileged": True}}]}}
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_pod(ns, privileged)
    assert raised.value.status == 403
    assert "violates PodSecurity" in raised.value.body and "restricted" in raised.value.body
    assert not core.list_namespaced_pod(ns).items
    core.create_namespaced_pod(ns, {"metadata": {"name": "compliant"}, "spec": RESTRICTED_POD_SPEC})
    assert core.read_namespaced_pod("compliant", ns).metadata.name == "compliant"


def test_deployment_pods_turn_ready_at_their_own_ips_and_endpointslices_follow(api, core, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    pods = wait(lambda: ready_pods(core, ns, "web", 2), message="two ready pods")
    ips = sorted(p.status.pod_ip for p in pods)
    assert len(set(ips)) == 2 and all(ip and not ip.startswith("127.") for ip in ips)
    discovery = k8s.DiscoveryV1Api(api)

    def endpoint_ips():
        slices = discovery.list_namespaced_endpoint_slice(ns, label_selector="kubernetes.io/service-name=web").items
        found = sorted(a for s in slices for e in s.endpoints or [] if e.conditions.ready for a in e.addresses)
        return found if found == ips else None

    wait(endpoint_ips, message="EndpointSlices with both pod IPs")


def test_pods_proxy_reaches_the_stand_in_at_the_pod_ip(sandbox, core, apps, ns):
    config = {"application.yml": "server:\n  port: 8080\n  servlet:\n    context-path: /api/v1\n"}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "web-config"}, "data": config})
    spec = json.loads(json.dumps(RESTRICTED_POD_SPEC))
    spec["volumes"] = [{"name": "config", "configMap": {"name": "web-config"}}]
    spec["containers"][0]["volumeMounts"] = [{"name": "config", "mountPath": "/config"}]
    apps.create_namespaced_deployment(ns, deployment("web", replicas=1, spec=spec))
    pod = wait(lambda: ready_pods(core, ns, "web", 1), message="a ready pod")[0].metadata.name

    def get(path, port=8080):
        try:
            body = core.connect_get_namespaced_pod_proxy_with_path("%s:%d" % (pod, port), ns, path, _preload_content=False)
            return body.status, body.data.decode()
        except ApiException as exc:
            return exc.status, exc.body

    assert get("api/v1/actuator/health/readiness") == (200, '{"status": "UP"}')
    assert get("api/v1/actuator/health/liveness")[0] == 200
    # A wrong path or a wrong port fails, as it would against the real service.
    assert get("actuator/health/readiness")[0] == 404
    assert get("api/v1/actuator/nothing-here")[0] == 404
    assert get("api/v1/actuator/health/readiness", port=8081)[0] >= 500
    response = requests.get("%s/api/v1/namespaces/%s/pods/%s:8080/proxy/api/v1/actuator/prometheus" % (
        sandbox["SANDBOX_K8S_URL"], ns, pod), headers={"Authorization": "Bearer " + sandbox["SANDBOX_K8S_TOKEN"]},
        verify=sandbox["SANDBOX_K8S_CA"], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'http_server_requests_seconds_count{' in response.text and 'uri="/actuator/health/readiness"' in response.text


def test_never_ready_and_pod_http_faults(core, apps, ns, kube_sandbox):
    kube_sandbox.fault(type="never_ready", namespace=ns, name="held")
    apps.create_namespaced_deployment(ns, deployment("held", replicas=1))
    apps.create_namespaced_deployment(ns, deployment("free", replicas=1))
    wait(lambda: ready_pods(core, ns, "free", 1), message="the free pod ready")
    time.sleep(1.5)
    held = core.list_namespaced_pod(ns, label_selector="app=held").items
    assert len(held) == 1 and held[0].status.phase == "Running" and held[0].status.pod_ip
    assert not ready_pods(core, ns, "held", 1)
    kube_sandbox.remove_mine()
    wait(lambda: ready_pods(core, ns, "held", 1), message="the held pod ready once the fault is gone")

    kube_sandbox.fault(type="pod_http", namespace=ns, name="free", status=503)
    pod = ready_pods(core, ns, "free", 1)[0].metadata.name
    with pytest.raises(ApiException) as raised:
        core.connect_get_namespaced_pod_proxy_with_path(pod + ":8080", ns, "actuator/health/readiness")
    assert raised.value.status == 503


def test_fail_writes_fault_changes_nothing(core, ns, kube_sandbox):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    kube_sandbox.fault(type="fail_writes", namespace=ns, resource="configmaps", name="settings", status=500, count=1)
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_config_map("settings", ns, {"data": {"a": "2"}})
    assert raised.value.status == 500
    assert core.read_namespaced_config_map("settings", ns).data == {"a": "1"}
    core.patch_namespaced_config_map("settings", ns, {"data": {"a": "3"}})
    assert core.read_namespaced_config_map("settings", ns).data == {"a": "3"}


def test_monitoring_crds_validate_custom_resources_by_their_schema(api, ns):
    custom = k8s.CustomObjectsApi(api)
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "r"},
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "Up", "expr": "up == 0", "for": "5m"}]}]}}
    custom.create_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "prometheusrules", rule)
    bad = json.loads(json.dumps(rule))
    bad["metadata"]["name"] = "bad"
    bad["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(ApiException) as raised:
        custom.create_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "prometheusrules", bad)
    assert raised.value.status == 422 and "spec.groups[0].rules[0].for" in raised.value.body
    for plural, version in (("podmonitors", "v1"), ("servicemonitors", "v1"), ("alertmanagerconfigs", "v1alpha1")):
        assert custom.list_namespaced_custom_object("monitoring.coreos.com", version, ns, plural)["items"] == []


def test_eck_crds_validate_and_keep_the_pod_templates_metadata(api, ns):
    custom = k8s.CustomObjectsApi(api)
    node_set = {"name": "default", "count": 1, "podTemplate": {"metadata": {"labels": {"team": "loyalty"}}}}
    cluster = {"apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch", "metadata": {"name": "logs"},
               "spec": {"version": "8.17.4", "nodeSets": [node_set]}}
    created = custom.create_namespaced_custom_object("elasticsearch.k8s.elastic.co", "v1", ns, "elasticsearches", cluster)
    # Generated with embedded ObjectMeta kept, as ECK generates its CRDs: the labels are not pruned.
    assert created["spec"]["nodeSets"][0]["podTemplate"]["metadata"]["labels"] == {"team": "loyalty"}
    bad = json.loads(json.dumps(cluster))
    bad["metadata"]["name"] = "bad"
    bad["spec"]["nodeSets"][0]["count"] = "three"
    with pytest.raises(ApiException) as raised:
        custom.create_namespaced_custom_object("elasticsearch.k8s.elastic.co", "v1", ns, "elasticsearches", bad)
    assert raised.value.status == 422 and "spec.nodeSets[0].count" in raised.value.body
    others = (("kibana.k8s.elastic.co", "v1", "kibanas"), ("beat.k8s.elastic.co", "v1beta1", "beats"),
              ("logstash.k8s.elastic.co", "v1alpha1", "logstashes"))
    for group, version, plural in others:
        assert custom.list_namespaced_custom_object(group, version, ns, plural)["items"] == []


def test_rbac_refuses_a_service_account_without_a_binding(api, core, ns):
    core.create_namespaced_service_account(ns, {"metadata": {"name": "nobody"}})
    token = k8s.CoreV1Api(api).create_namespaced_service_account_token(
        "nobody", ns, {"spec": {"expirationSeconds": 600}}).status.token
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:%s:nobody" % ns
    configuration = k8s.Configuration()
    configuration.host = api.configuration.host
    configuration.ssl_ca_cert = api.configuration.ssl_ca_cert
    configuration.api_key = {"authorization": "Bearer " + token}
    with pytest.raises(ApiException) as raised:
        k8s.CoreV1Api(k8s.ApiClient(configuration)).list_namespaced_secret(ns)
    assert raised.value.status == 403


def test_a_watch_streams_through_the_proxy(core, ns):
    from kubernetes import watch  # pylint: disable=import-outside-toplevel

    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "watched"}, "data": {"a": "1"}})
    stream = watch.Watch()
    seen = []
    for event in stream.stream(core.list_namespaced_config_map, ns, resource_version=version, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if ("ADDED", "watched") in seen:
            stream.stop()
    assert ("ADDED", "watched") in seen


KUBERNETES_CORE_PLAY = """
- name: kubernetes.core against the sandbox, as against a cluster
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Server-side apply a Deployment and wait for it
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        apply: true
        server_side_apply: {field_manager: it-kubernetes-core}
        wait: true
        wait_timeout: 60
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: web, labels: {app: web}}
          spec:
            replicas: 1
            selector: {matchLabels: {app: web}}
            template:
              metadata: {labels: {app: web}}
              spec:
                containers: [{name: app, image: registry.example/app:1}]
    - name: Scale it and wait
      kubernetes.core.k8s_scale:
        namespace: "{{ ns }}"
        api_version: apps/v1
        kind: Deployment
        name: web
        replicas: 3
        wait: true
        wait_timeout: 60
    - name: Read it back
      kubernetes.core.k8s_info:
        namespace: "{{ ns }}"
        api_version: apps/v1
        kind: Deployment
        name: web
      register: web
    - name: The cluster's version
      kubernetes.core.k8s_cluster_info:
      register: cluster
    - name: Report
      ansible.builtin.debug:
        msg: "{{ web.resources[0].status.readyReplicas }} {{ cluster.version.server.kubernetes.gitVersion }}"
"""


def test_kubernetes_core_modules_work_through_the_kubeconfig(run_playbook, namespace):
    result = run_playbook(KUBERNETES_CORE_PLAY, extra_vars={"ns": namespace})
    assert result.rc == 0, result.stdout[-4000:]
    assert result.task_result("Report")["msg"] == "3 %s" % pinned_version()
