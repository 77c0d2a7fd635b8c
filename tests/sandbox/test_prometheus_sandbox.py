"""The sandbox's Prometheus 3: its version and tools, its discovery identity, scraping kwok pods at their own IPs with
the stand-in's faults and traffic, and ctl.py leaving alone the configs another writer (the monitoring role) wrote.

The end-to-end tests share one private sandbox (own state dir, ports and pod CIDR), so `make sandbox-up`'s is never
touched.
"""

import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests
import yaml

from kubesandbox.control import Control

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = os.path.join(REPO_ROOT, "sandbox", "ctl.py")
# Neither the shared sandbox's (10.244/16) nor test_ctl.py's private ones (10.245/16, 10.246/16).
POD_CIDR = "10.247.0.0/16"
NAMESPACE = "prometheus-sd"
FOREIGN_MARK = "# Written by the monitoring role"


def load_ctl(state_dir, monkeypatch):
    monkeypatch.setenv("SANDBOX_DIR", state_dir)
    spec = importlib.util.spec_from_file_location("sandbox_ctl_config_test", CTL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- without a sandbox ----------------------------------------------------------------------------


def test_ctl_writes_its_config_only_over_its_own(tmp_path, monkeypatch):
    ctl = load_ctl(str(tmp_path / "state"), monkeypatch)
    alertmanager = ctl.Alertmanager({})
    alertmanager.prepare()
    with open(alertmanager.config, encoding="utf-8") as handle:
        assert handle.readline().startswith(ctl.CONFIG_MARKER)
    # An older config of ctl.py's own is brought up to date...
    with open(alertmanager.config, "w", encoding="utf-8") as handle:
        handle.write(ctl.CONFIG_MARKER + " long ago.\nroute: {receiver: old}\n")
    assert alertmanager.owns_config() and alertmanager.write_config()
    with open(alertmanager.config, encoding="utf-8") as handle:
        assert handle.read() == ctl.ALERTMANAGER_CONFIG
    # ...another writer's is not, neither at a start nor by refresh() (which would POST /-/reload first: no server runs).
    foreign = FOREIGN_MARK + "\nroute: {receiver: team}\nreceivers: [{name: team}]\n"
    with open(alertmanager.config, "w", encoding="utf-8") as handle:
        handle.write(foreign)
    alertmanager.prepare()
    assert not alertmanager.owns_config()
    assert alertmanager.refresh() is False
    with open(alertmanager.config, encoding="utf-8") as handle:
        assert handle.read() == foreign
    assert os.listdir(os.path.dirname(alertmanager.config)) == ["alertmanager.yml", "data"], "no partial file left"


def test_a_prometheus_of_another_binary_is_restarted_by_up(tmp_path, monkeypatch):
    ctl = load_ctl(str(tmp_path / "state"), monkeypatch)
    monkeypatch.setattr(ctl, "prometheus_bin", lambda: str(tmp_path / "bin"))
    prometheus = ctl.Prometheus({})
    monkeypatch.setattr(prometheus, "pid", os.getpid)
    reason = prometheus.stale()
    assert reason == "it ran %s, not %s" % (os.path.realpath(sys.executable), tmp_path / "bin" / "prometheus")
    monkeypatch.setattr(prometheus, "binary", lambda: sys.executable)
    assert prometheus.stale() is None


# ---- a private sandbox --------------------------------------------------------------------------------


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("export "):
                name, _sep, quoted = line[len("export "):].rstrip("\n").partition("=")
                values[name] = shlex.split(quoted)[0]
    return values


@pytest.fixture(scope="module")
def sandbox():
    from test_ctl import private_env  # pylint: disable=import-outside-toplevel

    base = tempfile.mkdtemp(prefix="loyalty-sandbox-prom-test-")
    os.chmod(base, 0o755)
    env = private_env(base, POD_CIDR)

    def ctl(*args):
        return subprocess.run([sys.executable, CTL] + list(args), env=env, capture_output=True, text=True, check=False, timeout=300)

    started = ctl("up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        exported = read_env(os.path.join(env["SANDBOX_DIR"], "env"))
        yield {"env": env, "ctl": ctl, "exported": exported, "prometheus": exported["PROMETHEUS_URL"],
               "kubectl": [exported["SANDBOX_KUBECTL"], "--kubeconfig", exported["KUBECONFIG"]]}
    finally:
        ctl("down")
        shutil.rmtree(base, ignore_errors=True)


def query(sandbox, expr):
    answer = requests.get(sandbox["prometheus"] + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def eventually(check, timeout, what):
    """The first truthy result of check() within timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError("%s within %ss; last seen: %r" % (what, timeout, last))


def run(cmd, stdin=None):
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_sandbox_runs_prometheus_3_with_its_own_promtool_and_debians_amtool(sandbox):
    from test_build_and_start import _prometheus_versions  # pylint: disable=import-outside-toplevel

    exported = sandbox["exported"]
    version = _prometheus_versions()[1]
    build = requests.get(sandbox["prometheus"] + "/api/v1/status/buildinfo", timeout=10).json()["data"]
    assert build["version"] == version and version.startswith("3.")
    flags = requests.get(sandbox["prometheus"] + "/api/v1/status/flags", timeout=10).json()["data"]
    assert flags["web.enable-lifecycle"] == "true" and flags["web.enable-admin-api"] == "true"
    assert flags["config.file"] == exported["SANDBOX_PROMETHEUS_CONFIG"]

    code, out = run([exported["SANDBOX_PROMTOOL"], "--version"])
    assert code == 0 and "promtool, version %s" % version in out
    assert os.path.dirname(exported["SANDBOX_PROMTOOL"]).endswith(os.path.join("prometheus", "v" + version, "bin"))
    code, out = run([exported["SANDBOX_PROMTOOL"], "check", "config", exported["SANDBOX_PROMETHEUS_CONFIG"]])
    assert code == 0, out
    # The rules directory is the one the loaded config reads.
    loaded = requests.get(sandbox["prometheus"] + "/api/v1/status/config", timeout=10).json()["data"]["yaml"]
    assert os.path.join(exported["SANDBOX_PROMETHEUS_RULES_DIR"], "*.yml") in loaded
    assert os.path.isdir(exported["SANDBOX_PROMETHEUS_RULES_DIR"])

    code, out = run([exported["SANDBOX_AMTOOL"], "--version"])
    assert code == 0 and "version 0.25" in out
    code, out = run([exported["SANDBOX_AMTOOL"], "check-config", exported["SANDBOX_ALERTMANAGER_CONFIG"]])
    assert code == 0 and "SUCCESS" in out, out


def test_the_prometheus_kubeconfig_is_its_own_identity_straight_to_the_api_server(sandbox):
    exported, env = sandbox["exported"], sandbox["env"]
    with open(exported["SANDBOX_PROMETHEUS_KUBECONFIG"], encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:%s" % env["SANDBOX_APISERVER_PORT"]
    kubectl = [exported["SANDBOX_KUBECTL"], "--kubeconfig", exported["SANDBOX_PROMETHEUS_KUBECONFIG"]]
    code, out = run(kubectl + ["auth", "whoami", "-o", "json"])
    assert code == 0 and json.loads(out)["status"]["userInfo"]["username"] == "loyalty-sandbox:prometheus", out

    control = Control(exported)
    control.reset_stats()
    code, out = run(kubectl + ["get", "pods", "--all-namespaces", "-o", "json"])
    assert code == 0, out
    pods = json.loads(out)["items"]
    assert any(pod["metadata"]["namespace"] == "monitoring" for pod in pods), "the kwok Pod behind prometheus-server"
    code, out = run(kubectl + ["get", "endpointslices.discovery.k8s.io", "--all-namespaces", "-o", "json"])
    assert code == 0, out
    slices = json.loads(out)["items"]
    assert any(s["metadata"]["labels"].get("kubernetes.io/service-name") == "prometheus-server" for s in slices)
    for verb, resource in (("watch", "pods"), ("list", "services"), ("list", "endpoints"), ("watch", "namespaces"),
                           ("watch", "endpointslices.discovery.k8s.io")):
        code, out = run(kubectl + ["auth", "can-i", verb, resource, "--all-namespaces"])
        assert out.strip() == "yes", (verb, resource, out)
    code, out = run(kubectl + ["auth", "can-i", "list", "secrets", "--all-namespaces"])
    assert out.strip() == "no", "discovery's identity reads what discovery needs, not secrets"
    # Straight to kube-apiserver: none of it reached the fault proxy, whose counts the integration tests assert on.
    assert control.stats()["requests"] == 0


def scrape_config(sandbox):
    kubeconfig = sandbox["exported"]["SANDBOX_PROMETHEUS_KUBECONFIG"]
    keep = [{"source_labels": ["__meta_kubernetes_namespace"], "regex": NAMESPACE, "action": "keep"}]
    return FOREIGN_MARK + " (a test of sandbox/ctl.py).\n" + yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "pods", "metrics_path": "/rewards/actuator/prometheus",
             "kubernetes_sd_configs": [{"role": "pod", "kubeconfig_file": kubeconfig}], "relabel_configs": keep},
            {"job_name": "slices", "metrics_path": "/rewards/actuator/prometheus",
             "kubernetes_sd_configs": [{"role": "endpointslice", "kubeconfig_file": kubeconfig}],
             "relabel_configs": keep + [{"source_labels": ["__meta_kubernetes_service_name"], "regex": "rewards-service",
                                         "action": "keep"}]},
        ]}, sort_keys=False)


def workload():
    labels = {"app": "rewards-service"}
    container = {"name": "app", "image": "registry.example/rewards-service:1.0.0", "ports": [{"name": "http", "containerPort": 8080}],
                 "env": [{"name": "SERVER_SERVLET_CONTEXT_PATH", "value": "/rewards"}]}
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "rewards-service", "namespace": NAMESPACE},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rewards-service", "namespace": NAMESPACE},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}},
    ]}


def targets(sandbox, job):
    active = requests.get(sandbox["prometheus"] + "/api/v1/targets", params={"state": "active"}, timeout=10).json()["data"]
    return [t for t in active["activeTargets"] if t["labels"].get("job") == job]


def healthy_targets(sandbox, job, count):
    """The job's active targets when there are ``count`` and every one is up, else None."""
    found = targets(sandbox, job)
    return found if len(found) == count and all(target["health"] == "up" for target in found) else None


def test_prometheus_discovers_kwok_pods_and_scrapes_them_at_their_ips(sandbox):
    exported = sandbox["exported"]
    config_path = exported["SANDBOX_PROMETHEUS_CONFIG"]
    control = Control(exported)
    code, out = run(sandbox["kubectl"] + ["apply", "-f", "-"], json.dumps(workload()))
    assert code == 0, out
    control.reset_stats()
    text = scrape_config(sandbox)
    with open(config_path, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        assert requests.post(sandbox["prometheus"] + "/-/reload", timeout=30).ok

        # Another writer's config survives `up`, on file and as loaded.
        again = sandbox["ctl"]("up")
        assert again.returncode == 0, again.stderr
        assert "config of another writer kept" in again.stdout and "config reloaded" not in again.stdout
        with open(config_path, encoding="utf-8") as handle:
            assert handle.read() == text
        loaded = requests.get(sandbox["prometheus"] + "/api/v1/status/config", timeout=10).json()["data"]["yaml"]
        assert "job_name: slices" in loaded and "job_name: pushgateway" not in loaded

        for job in ("pods", "slices"):
            found = eventually(lambda job=job: healthy_targets(sandbox, job, 2), 60, "two healthy %s targets" % job)
            for target in found:
                assert target["scrapeUrl"].startswith("http://10.247.") and target["scrapeUrl"].endswith(":8080/rewards/actuator/prometheus")
        assert {s["metric"]["application"] for s in query(sandbox, 'jvm_memory_used_bytes{job="pods"}')} == {"rewards-service"}

        # Synthetic traffic: request rates without a client.
        control.traffic(10)
        ping = 'http_server_requests_seconds_count{job="pods",uri="/api/v1/ping"}'
        eventually(lambda: query(sandbox, "sum(rate(%s[4s])) > 5" % ping), 30, "the pods' request rate")
        # A pod_http fault of scope "requests": every request fails, the scrape does not.
        control.pod_http(NAMESPACE, "rewards-service", 500, scope="requests")
        ratio = 'sum(rate(http_server_requests_seconds_count{job="pods",uri="/api/v1/ping",status="500"}[3s])) / sum(rate(%s[3s]))' % ping
        eventually(lambda: query(sandbox, ratio + " == 1"), 30, "an error ratio of 1")
        assert [s["value"][1] for s in query(sandbox, 'up{job="pods"}')] == ["1", "1"]

        # pod_down: the scrapes fail.
        control.pod_down(NAMESPACE, "rewards-service")
        eventually(lambda: [s["value"][1] for s in query(sandbox, 'up{job="pods"}')] == ["0", "0"], 30, "both pods' up at 0")
        # Discovery's lists and watches went straight to kube-apiserver, never through the fault proxy.
        stats = control.stats()
        assert stats["by_verb"].get("watch", 0) == 0 and stats["lists"] == {}, stats
    finally:
        control.traffic(0)
        control.remove_mine()
        run(sandbox["kubectl"] + ["delete", "namespace", NAMESPACE, "--wait=false"])


def test_an_alertmanager_config_of_another_writer_survives_up_and_a_restart(sandbox):
    exported = sandbox["exported"]
    path = exported["SANDBOX_ALERTMANAGER_CONFIG"]
    alertmanager = exported["ALERTMANAGER_URL"]
    text = (FOREIGN_MARK + " (a test of sandbox/ctl.py).\nroute:\n  receiver: team\n  group_by: [alertname]\n"
            "receivers:\n  - name: team\n    webhook_configs:\n      - url: http://127.0.0.1:9/hook\n")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    assert requests.post(alertmanager + "/-/reload", timeout=30).ok

    def loaded():
        return requests.get(alertmanager + "/api/v2/status", timeout=10).json()["config"]["original"]

    assert "http://127.0.0.1:9/hook" in loaded()
    again = sandbox["ctl"]("up")
    assert again.returncode == 0 and "config of another writer kept" in again.stdout, again.stdout + again.stderr
    # Stopped behind ctl.py's back, the next `up` starts it again with the file as it was.
    with open(os.path.join(sandbox["env"]["SANDBOX_DIR"], "run", "alertmanager.pid"), encoding="utf-8") as handle:
        pid = int(handle.read())
    os.killpg(pid, signal.SIGTERM)
    eventually(lambda: not os.path.exists("/proc/%d" % pid), 15, "alertmanager to stop")
    restarted = sandbox["ctl"]("up")
    assert restarted.returncode == 0 and "started alertmanager" in restarted.stdout, restarted.stdout + restarted.stderr
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == text
    assert "http://127.0.0.1:9/hook" in loaded()
