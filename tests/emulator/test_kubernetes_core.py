"""kubernetes.core against the emulator, through real ansible-playbook runs."""

import json
import os
import subprocess
import sys

import yaml

from emu_support import BIN, deployment

NS = "shop"


def run_playbook(emulator, tmp_path, tasks, *args, callback="ansible.posix.json"):
    """Run one play on localhost; returns (completed process, {task name: host result}) with the json callback."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=emulator.kubeconfig, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_PIPELINING="1",
               ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_DEPRECATION_WARNINGS="0")
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    results = {}
    if callback.endswith("json") and proc.stdout.strip().startswith("{"):
        for task in json.loads(proc.stdout)["plays"][0]["tasks"]:
            results[task["task"]["name"]] = task["hosts"].get("localhost", {})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc, results


def k8s(name, definition, **params):
    return {"name": name, "kubernetes.core.k8s": dict({"state": "present", "definition": definition}, **params)}


def namespaced(manifest):
    manifest = json.loads(json.dumps(manifest))
    manifest["metadata"]["namespace"] = NS
    return manifest


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"team": "loyalty"}}}
CONFIGMAP = namespaced({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "labels": {"app": "web"}},
                        "data": {"application.yaml": "server:\n  port: 8080\n"}})
SERVICE = namespaced({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
                      "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
SMON = namespaced({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "web", "labels": {"release": "prom"}},
                   "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http", "path": "/actuator/prometheus"}]}})
SMON_CHANGED = json.loads(json.dumps(SMON))
SMON_CHANGED["spec"]["endpoints"][0]["interval"] = "15s"
DEPLOYMENT = namespaced(deployment("web", replicas=2))
DEPLOYMENT["spec"]["template"]["spec"].update(
    serviceAccountName="web", securityContext={"runAsNonRoot": True},
    volumes=[{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": "app-config"}}],
    topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": {"app": "web"}}}])
DEPLOYMENT["spec"]["template"]["spec"]["containers"][0].update(
    envFrom=[{"configMapRef": {"name": "app-config"}}],
    resources={"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    readinessProbe={"httpGet": {"path": "/actuator/health/readiness", "port": "http"}},
    livenessProbe={"httpGet": {"path": "/actuator/health/liveness", "port": "http"}, "initialDelaySeconds": 30},
    volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}, {"name": "config", "mountPath": "/config"}])
API_DEPLOYMENT = namespaced(deployment("api", replicas=2))
SECRET = namespaced({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque", "stringData": {"password": "s3cr3t"}})
# Everything the eks_apps role manages, one of each kind.
APP_OBJECTS = [
    NAMESPACE,
    namespaced({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "web", "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/web"}}}),
    CONFIGMAP, SECRET, DEPLOYMENT, SERVICE,
    namespaced({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-lb"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    namespaced({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 6,
                         "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}}),
    namespaced({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
    namespaced({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web"},
                "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}]}}),
    namespaced({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web", "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}},
                "spec": {"ingressClassName": "alb", "rules": [{"host": "loyalty.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
    SMON,
    namespaced({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "web"},
                "spec": {"groups": [{"name": "web", "rules": [{"alert": "WebDown", "expr": "up{job=\"web\"} == 0", "for": "5m"}]}]}}),
]


def test_present_apply_wait_info_and_absent(emulator, tmp_path, core, apps):
    tasks = [
        k8s("all present", APP_OBJECTS),
        k8s("all present again", APP_OBJECTS),
        k8s("all apply", APP_OBJECTS, apply=True),
        k8s("all apply again", APP_OBJECTS, apply=True),
        k8s("deployment wait", API_DEPLOYMENT, wait=True, wait_sleep=1, wait_timeout=30),
        k8s("servicemonitor changed", SMON_CHANGED),
        {"name": "pods by label", "kubernetes.core.k8s_info": {
            "kind": "Pod", "namespace": NS, "label_selectors": ["app=web", "pod-template-hash"], "field_selectors": ["status.phase=Running"]}},
        {"name": "configmap by field", "kubernetes.core.k8s_info": {
            "kind": "ConfigMap", "api_version": "v1", "namespace": NS, "field_selectors": ["metadata.name=app-config"]}},
        {"name": "configmap absent", "kubernetes.core.k8s": {"state": "absent", "kind": "ConfigMap", "name": "app-config", "namespace": NS}},
        {"name": "configmap absent again", "kubernetes.core.k8s": {"state": "absent", "kind": "ConfigMap", "name": "app-config", "namespace": NS}},
    ]
    results = run_playbook(emulator, tmp_path, tasks)[1]
    kinds = [o["kind"] for o in APP_OBJECTS]
    for name, expected in (("all present", True), ("all present again", False), ("all apply", True), ("all apply again", False)):
        per_object = results[name]["result"]["results"]
        assert len(per_object) == len(APP_OBJECTS)
        unexpected = [(kind, r.get("diff")) for kind, r in zip(kinds, per_object) if r["changed"] is not expected]
        assert not unexpected, (name, unexpected)
    assert {r["method"] for r in results["all present again"]["result"]["results"]} == {"update"}
    assert {r["method"] for r in results["all apply again"]["result"]["results"]} == {"apply"}
    waited = results["deployment wait"]
    assert waited["changed"] is True and waited["result"]["status"]["availableReplicas"] == 2 and "duration" in waited
    assert results["servicemonitor changed"]["changed"] is True
    # Label selectors leave out the api pods, the field selector keeps only running pods.
    web_pods = results["pods by label"]["resources"]
    assert len(web_pods) == 2 and {p["metadata"]["labels"]["app"] for p in web_pods} == {"web"}
    assert {p["status"]["phase"] for p in web_pods} == {"Running"}
    # The field selector leaves out kube-root-ca.crt.
    assert [c["metadata"]["name"] for c in results["configmap by field"]["resources"]] == ["app-config"]
    assert results["configmap by field"]["resources"][0]["data"] == CONFIGMAP["data"]
    assert results["configmap absent"]["changed"] is True and results["configmap absent again"]["changed"] is False
    # State read back through the client.
    assert apps.read_namespaced_deployment_status("api", NS).status.available_replicas == 2
    assert core.read_namespaced_secret("db", NS).data["password"] == "czNjcjN0"
    assert "kubectl.kubernetes.io/last-applied-configuration" in core.read_namespaced_service("web", NS).metadata.annotations
    smon = emulator.body("GET", "/apis/monitoring.coreos.com/v1/namespaces/%s/servicemonitors/web" % NS)
    assert smon["spec"]["endpoints"] == [{"port": "http", "path": "/actuator/prometheus", "interval": "15s"}]
    # kubernetes.core tried a strategic merge patch first, got 415 and fell back to a merge patch.
    with open(emulator.log_file, encoding="utf-8") as handle:
        log = handle.read()
    assert "PATCH /apis/monitoring.coreos.com/v1/namespaces/shop/servicemonitors/web 415" in log
    assert "PATCH /apis/monitoring.coreos.com/v1/namespaces/shop/servicemonitors/web 200" in log
    assert emulator.http("GET", "/api/v1/namespaces/%s/configmaps/app-config" % NS)[0] == 404


def test_check_mode_creates_nothing(emulator, tmp_path, core):
    emulator.http("POST", "/api/v1/namespaces", NAMESPACE)
    emulator.http("POST", "/api/v1/namespaces/%s/configmaps" % NS, CONFIGMAP)
    before = core.read_namespaced_config_map("app-config", NS)
    emulator.control("POST", "stats/reset")
    changed_cm = json.loads(json.dumps(CONFIGMAP))
    changed_cm["data"]["extra"] = "1"
    tasks = [k8s("deployment", DEPLOYMENT), k8s("service", SERVICE, apply=True), k8s("configmap", changed_cm),
             {"name": "configmap absent", "kubernetes.core.k8s": {"state": "absent", "kind": "ConfigMap", "name": "app-config", "namespace": NS}}]
    results = run_playbook(emulator, tmp_path, tasks, "--check")[1]
    assert all(results[name]["changed"] for name in ("deployment", "service", "configmap", "configmap absent"))
    assert results["deployment"]["result"]["metadata"]["name"] == "web"
    assert emulator.http("GET", "/apis/apps/v1/namespaces/%s/deployments/web" % NS)[0] == 404
    assert emulator.http("GET", "/api/v1/namespaces/%s/services/web" % NS)[0] == 404
    after = core.read_namespaced_config_map("app-config", NS)
    assert after.data == before.data and after.metadata.resource_version == before.metadata.resource_version
    stats = emulator.control("GET", "stats")
    assert stats["dry_run"] >= 4  # every write went out with dryRun=All


def test_diff_output(emulator, tmp_path):
    emulator.http("POST", "/api/v1/namespaces", NAMESPACE)
    emulator.http("POST", "/api/v1/namespaces/%s/configmaps" % NS, CONFIGMAP)
    changed_cm = json.loads(json.dumps(CONFIGMAP))
    changed_cm["data"]["feature.flag"] = "on"
    proc = run_playbook(emulator, tmp_path, [k8s("configmap", changed_cm)], "--diff", callback="default")[0]
    assert '+        "feature.flag": "on"' in proc.stdout, proc.stdout
    assert "changed=1" in proc.stdout
    proc = run_playbook(emulator, tmp_path, [k8s("configmap", changed_cm)], "--diff", callback="default")[0]
    assert "feature.flag" not in proc.stdout and "changed=0" in proc.stdout
