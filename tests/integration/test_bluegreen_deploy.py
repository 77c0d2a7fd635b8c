"""playbooks/deploy.yml (role loyalty.platform.bluegreen_deploy) against the sandbox, with inventories/local.

Every test works in its own namespace (the `namespace` fixture, passed as eks_apps_namespace) and reads the effect back
through the Kubernetes API. Faults go through the sandbox's fault proxy; each test removes the faults it added, by
id, and no others (other suites may be using the sandbox at the same time), which is why these tests do not use the
shared `kube_sandbox` fixture, whose teardown clears every fault.
"""

import pytest
from kubernetes.dynamic.exceptions import NotFoundError

from kubesandbox.control import Control

PLAYBOOK = "playbooks/deploy.yml"
INVENTORY = "inventories/local"
GROUP = ["user-service", "point-service", "rewards-service", "admin-service"]
REGISTRY = "ghcr.io/loyalty-system"
PREFIX = "loyalty.platform/"

# A watch gate that fails for every color but blue: an error rate of 1 once green serves, nothing while blue does.
GREEN_IS_FAILING = {
    "name": "error-rate",
    "query": 'label_replace(vector(1), "color", "{color}", "", "") unless on(color) label_replace(vector(0), "color", "blue", "", "")',
    "comparison": "<=",
    "threshold": 0.05,
    "allow_empty": True,
}


class Faults(Control):
    """The sandbox's fault injection, limited to the faults this test adds (removed by id afterwards)."""

    def assert_still_active(self):
        """A fault cleared by another client mid-test would make a failure look like a success: say so instead."""
        lost = [fault_id for fault_id in self.ids if fault_id not in self.active()]
        assert not lost, "another client of the shared sandbox cleared fault(s) %s during the test; run it again" % ", ".join(lost)


@pytest.fixture
def faults(sandbox):
    client = Faults(sandbox)
    yield client
    client.remove_mine()


@pytest.fixture
def deploy(run_playbook, namespace):
    """Run playbooks/deploy.yml against inventories/local in the test's namespace."""

    def _run(image_tag, check=False, **extra_vars):
        extra_vars.setdefault("eks_apps_namespace", namespace)
        if image_tag is not None:
            extra_vars["image_tag"] = image_tag
        return run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra_vars, check=check)

    return _run


class Cluster:
    """Reads the group back through the kubernetes client."""

    def __init__(self, kube_client, namespace):
        self.namespace = namespace
        self.services = kube_client.resources.get(api_version="v1", kind="Service")
        self.deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment")
        self.leases = kube_client.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")

    def service(self, name):
        return self.services.get(name=name, namespace=self.namespace).to_dict()

    def colors(self):
        return dict((name, self.service(name)["spec"]["selector"].get("color")) for name in GROUP)

    def annotations(self, name):
        return self.service(name)["metadata"].get("annotations") or {}

    def deployment(self, name):
        try:
            return self.deployments.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def image(self, name):
        return self.deployment(name)["spec"]["template"]["spec"]["containers"][0]["image"]

    def replicas(self, color):
        return dict((name, self.deployment("%s-%s" % (name, color))["spec"]["replicas"]) for name in GROUP)

    def ready(self, color):
        return dict((name, (self.deployment("%s-%s" % (name, color)).get("status") or {}).get("readyReplicas", 0)) for name in GROUP)

    def versions(self):
        """resourceVersion of every Service and Deployment: equal before and after means nothing was written."""
        found = {}
        for api in (self.services, self.deployments):
            for item in api.get(namespace=self.namespace).items:
                found[(item.kind or api.kind, item.metadata.name)] = item.metadata.resourceVersion
        return found

    def lease_held(self):
        try:
            lease = self.leases.get(name="bluegreen-lock", namespace=self.namespace).to_dict()
        except NotFoundError:
            return False
        return bool(lease["spec"].get("holderIdentity"))

    def assert_settled(self, color):
        """The invariant after every run: the whole group on one color, and the switch lock released."""
        assert self.colors() == dict.fromkeys(GROUP, color)
        assert not self.lease_held(), "the bluegreen-lock Lease was left behind"


@pytest.fixture
def cluster(kube_client, namespace):
    return Cluster(kube_client, namespace)


def failure_message(result):
    """The message of the task that failed the run (the last one, when a rescue failed it in the end)."""
    message = ""
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            host = task["hosts"].get("localhost", {})
            if host.get("failed") and not host.get("ignore_errors"):
                message = host.get("msg", "")
    return " ".join(message.split()) if result.rc else ""


def assert_ok(result):
    assert result.rc == 0, "deploy failed:\n%s\n%s" % (result.stdout[-6000:], result.stderr[-3000:])


def report(result):
    return result.task_result("loyalty.platform.bluegreen_deploy : Report | say what was done")["msg"]


@pytest.fixture
def blue(deploy, cluster):
    """The group after a first deploy of 1.0.0: every service blue, the Services created selecting blue."""
    result = deploy("1.0.0")
    assert_ok(result)
    assert "First deploy" in report(result)
    cluster.assert_settled("blue")
    assert cluster.deployment("user-service-green") is None
    return cluster


def test_first_deploy_then_release_to_green_then_nothing_to_do(deploy, blue):
    cluster = blue
    for name in GROUP:
        assert cluster.image(name + "-blue") == "%s/%s:1.0.0" % (REGISTRY, name)

    released = deploy("1.1.0")
    assert_ok(released)
    cluster.assert_settled("green")
    for name in GROUP:
        annotations = cluster.annotations(name)
        assert annotations[PREFIX + "active-color"] == "green"
        assert annotations[PREFIX + "previous-color"] == "blue"
        assert annotations[PREFIX + "last-action"] == "switched"
        assert cluster.image(name + "-green") == "%s/%s:1.1.0" % (REGISTRY, name)
    assert len(set(cluster.annotations(name)[PREFIX + "switch-id"] for name in GROUP)) == 1
    # The old color is kept for a fast rollback, at 0 replicas; the new one is fully ready.
    assert cluster.replicas("blue") == dict.fromkeys(GROUP, 0)
    assert cluster.ready("green") == cluster.replicas("green")
    assert min(cluster.replicas("green").values()) >= 1
    assert "moved from blue to green" in report(released)

    # The same tag again: the active color already runs it, so nothing is written at all.
    before = cluster.versions()
    again = deploy("1.1.0")
    assert_ok(again)
    assert again.changed() == 0
    assert cluster.versions() == before
    assert "Nothing to do" in report(again)
    cluster.assert_settled("green")


def test_readiness_failure_switches_nothing(deploy, blue, faults, namespace):
    cluster = blue
    faults.add(type="pod_http", namespace=namespace, name="rewards-service-green", status=503)
    result = deploy("1.1.0")
    faults.assert_still_active()
    assert result.rc != 0
    message = failure_message(result)
    assert "stopped before the switch, while running the readiness tests" in message
    assert "rewards-service-green" in message and "answered HTTP 503" in message
    assert "Traffic untouched: every Service selects blue" in message
    cluster.assert_settled("blue")
    # The new color is left for inspection, fully deployed; the Services were never patched.
    assert cluster.image("rewards-service-green") == "%s/rewards-service:1.1.0" % REGISTRY
    assert all(PREFIX + "switch-id" not in cluster.annotations(name) for name in GROUP)
    assert cluster.replicas("blue") == dict.fromkeys(GROUP, 1)


SMOKE_TESTS = """---
- name: Smoke test | the deploy says what is being tested
  ansible.builtin.assert:
    that:
      - bluegreen_deploy_readiness_target.color == 'green'
      - bluegreen_deploy_readiness_target.previous_color == 'blue'
      - bluegreen_deploy_readiness_target.image_tag == '1.1.0'
      - bluegreen_deploy_readiness_target.services | length == 4
    fail_msg: "unexpected readiness target {{ bluegreen_deploy_readiness_target }}"

- name: Smoke test | the checkout flow
  ansible.builtin.fail:
    msg: "smoke test: checkout answered 500 on {{ bluegreen_deploy_readiness_target.color }}"
"""


def test_a_failing_readiness_task_file_switches_nothing(deploy, blue, tmp_path):
    cluster = blue
    tasks = tmp_path / "smoke-tests.yml"
    tasks.write_text(SMOKE_TESTS, encoding="utf-8")
    result = deploy("1.1.0", bluegreen_deploy_readiness_tasks=str(tasks))
    assert result.rc != 0
    message = failure_message(result)
    assert "while running the readiness tests against the new color: smoke test: checkout answered 500 on green" in message
    cluster.assert_settled("blue")


def test_green_never_ready_switches_nothing(deploy, blue, faults, namespace):
    cluster = blue
    faults.add(type="never_ready", namespace=namespace, name="point-service-green")
    result = deploy("1.1.0", bluegreen_deploy_wait_timeout=4, bluegreen_deploy_failed_color="scale_down")
    faults.assert_still_active()
    assert result.rc != 0
    message = failure_message(result)
    assert "while waiting for the new color to be rolled out and ready" in message
    assert "point-service-green 0/1 ready" in message
    assert "The green Deployments were scaled to 0" in message
    cluster.assert_settled("blue")
    assert cluster.replicas("green") == dict.fromkeys(GROUP, 0)
    assert cluster.ready("blue") == dict.fromkeys(GROUP, 1)


def test_gate_breach_during_the_watch_rolls_back(deploy, blue):
    cluster = blue
    replicas_before = cluster.replicas("blue")
    result = deploy("1.1.0", bluegreen_deploy_watch_gates=[GREEN_IS_FAILING])
    assert result.rc != 0
    message = failure_message(result)
    assert "was ROLLED BACK to blue" in message
    assert "while watching the gates after the switch" in message
    assert "gate error-rate: 1 is not <= 0.05" in message
    cluster.assert_settled("blue")
    for name in GROUP:
        annotations = cluster.annotations(name)
        assert annotations[PREFIX + "last-action"] == "rolled_back"
        assert annotations[PREFIX + "previous-color"] == "green"
    assert cluster.replicas("blue") == replicas_before
    assert cluster.ready("blue") == replicas_before


def test_failure_while_retiring_the_old_color_restores_its_replicas_and_rolls_back(deploy, blue, faults, namespace):
    cluster = blue
    # The scale-down of blue patches user-, point-, rewards-service-blue, then fails on admin-service-blue (count 2:
    # kubernetes.core tries a strategic merge patch, then a JSON merge patch).
    faults.add(type="fail_writes", namespace=namespace, resource="deployments", name="admin-service-blue", count=2, status=500)
    result = deploy("1.1.0")
    assert result.rc != 0
    message = failure_message(result)
    assert "was ROLLED BACK to blue" in message
    assert "while retiring the old color" in message
    cluster.assert_settled("blue")
    assert cluster.replicas("blue") == dict.fromkeys(GROUP, 1)
    assert cluster.ready("blue") == dict.fromkeys(GROUP, 1)
    assert all(cluster.annotations(name)[PREFIX + "last-action"] == "rolled_back" for name in GROUP)


def test_new_color_gets_the_hpa_current_count_before_the_switch(deploy, blue, faults, namespace):
    cluster = blue
    # Load on user-service: its HPA runs blue at 2, above the manifest's 1 (inventories/local).
    faults.set_hpa(namespace, "user-service-blue", 2)
    result = deploy("1.1.0", bluegreen_deploy_old_color="keep")
    assert_ok(result)
    cluster.assert_settled("green")
    assert cluster.replicas("green")["user-service"] >= 2
    assert cluster.ready("green")["user-service"] >= 2
    assert cluster.replicas("green")["point-service"] == 1
    # The switch itself refuses a target with fewer ready replicas than the active color (require_replica_parity),
    # so green had at least 2 ready before the Services moved.
    scaled = result.task_result("loyalty.platform.bluegreen_deploy : Scale | say which Deployments were raised and why")["msg"]
    assert scaled == ["user-service-green: HPA user-service-blue currentReplicas 2"]


def test_check_mode_changes_nothing(deploy, blue):
    cluster = blue
    before = cluster.versions()
    result = deploy("1.1.0", check=True)
    assert_ok(result)
    assert cluster.versions() == before
    assert cluster.deployment("user-service-green") is None
    cluster.assert_settled("blue")


def test_image_tag_is_required_and_latest_refused_in_production(deploy, run_playbook, cluster):
    missing = deploy(None)
    assert missing.rc != 0
    assert "image_tag is required" in failure_message(missing)
    latest = run_playbook(PLAYBOOK, inventory="inventories/production", extra_vars={"image_tag": "latest"})
    assert latest.rc != 0
    assert "image tag latest names no release and is refused in production" in failure_message(latest)


def test_url_only_prometheus_settings_without_a_url_stop_the_preflight(deploy, blue):
    """A token kept for a Prometheus URL while the gates use the in-cluster Service: refused before anything changes,
    naming the variable (it would otherwise be ignored, or fail the switch after the new color was deployed)."""
    cluster = blue
    before = cluster.versions()
    result = deploy("1.1.0", bluegreen_deploy_prometheus_token="tok-4c1f0a9e77", bluegreen_deploy_prometheus_headers={"X-Scope-OrgID": "ops"})
    assert result.rc != 0
    message = failure_message(result)
    assert message.startswith("bluegreen_deploy_prometheus_token, bluegreen_deploy_prometheus_headers applies to bluegreen_deploy_prometheus_url only")
    assert "tok-4c1f0a9e77" not in result.stdout + result.stderr
    assert cluster.versions() == before
    assert cluster.deployment("user-service-green") is None
    cluster.assert_settled("blue")
