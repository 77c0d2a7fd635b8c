"""k8s_bluegreen and k8s_bluegreen_info against the sandbox's Kubernetes control plane.

Every fault of issue 4 is produced by the sandbox's fault injection (or, for the concurrent edit and the
post-switch verification failure, by a real second client acting while the switch runs). After each run the
test reads the cluster back through the API: the whole group on one color, the lock Lease released, the cause
named in the error, and, for refusals, not a single write in the fault proxy's request counts.
"""

import datetime
import json
import socket
import threading
import time

import pytest
from kubernetes.dynamic.exceptions import NotFoundError

GROUP = ["user-service", "point-service", "rewards-service", "admin-service"]
COLORS = ("blue", "green")
REPLICAS = 2
LEASE = "bluegreen-lock"
PREFIX = "loyalty.platform/"


def _utc(seconds_ago=0):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status_field(obj, field):
    """A status field of a read object, 0 while the server has not filled it in (or status is absent)."""
    status = obj.to_dict().get("status") or {}
    return status.get(field) or 0


def _ready_replicas(deployment):
    return _status_field(deployment, "readyReplicas")


class Group:
    """Four Services, each with a blue and a green Deployment, built and read back with the kubernetes client."""

    def __init__(self, kube_client, namespace):
        self.kube = kube_client
        self.namespace = namespace
        self.services = kube_client.resources.get(api_version="v1", kind="Service")
        self.deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment")
        self.leases = kube_client.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
        self.events = kube_client.resources.get(api_version="v1", kind="Event")
        self.hpas = kube_client.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")

    def create(self, active="blue", colors=COLORS, wait=True):
        for name in GROUP:
            for color in colors:
                self.create_deployment(name, color)
            self.services.create(namespace=self.namespace, body={
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"app": name}},
                "spec": {"selector": {"app": name, "color": active}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
            })
        if wait:
            self.wait_ready(["%s-%s" % (name, color) for name in GROUP for color in colors])
        return self

    def create_deployment(self, service, color, replicas=REPLICAS):
        labels = {"app": service, "color": color}
        self.deployments.create(namespace=self.namespace, body={
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "%s-%s" % (service, color), "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                    "name": "app", "image": "registry.invalid/loyalty/%s:1.0.0" % service,
                    "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/actuator/health/readiness", "port": 8080}},
                }]}},
            },
        })

    def wait_ready(self, names, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            by_name = dict((d.metadata.name, d) for d in self.deployments.get(namespace=self.namespace).items)
            pending = [name for name in names if name not in by_name or _ready_replicas(by_name[name]) < (by_name[name].spec.replicas or 0)]
            if not pending:
                return
            assert time.monotonic() < deadline, "Deployments never became ready: %s" % pending
            time.sleep(0.1)

    def service(self, name):
        return self.services.get(namespace=self.namespace, name=name).to_dict()

    def colors(self):
        return dict((name, self.service(name)["spec"]["selector"].get("color")) for name in GROUP)

    def audit(self, name):
        annotations = self.service(name)["metadata"].get("annotations") or {}
        return dict((key[len(PREFIX):], value) for key, value in annotations.items() if key.startswith(PREFIX))

    def lease(self):
        try:
            return self.leases.get(namespace=self.namespace, name=LEASE).to_dict()
        except NotFoundError:
            return None

    def put_lease(self, holder, renewed_seconds_ago, duration):
        self.leases.create(namespace=self.namespace, body={
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": LEASE},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                     "acquireTime": _utc(renewed_seconds_ago), "renewTime": _utc(renewed_seconds_ago)},
        })

    def our_events(self):
        return [e.to_dict() for e in self.events.get(namespace=self.namespace).items if (e.reason or "").startswith("BlueGreen")]

    def assert_settled(self, color):
        """The invariant after every run: one color across the group, and no lock left behind."""
        assert self.colors() == dict.fromkeys(GROUP, color)
        lease = self.lease()
        assert lease is None or not lease["spec"].get("holderIdentity"), "lease left behind: %s" % lease


@pytest.fixture
def group(kube_client, namespace):
    return Group(kube_client, namespace).create()


def _module_args(namespace, **options):
    args = {"namespace": namespace, "services": GROUP}
    args.update(options)
    return args


def play(module, args, name="bluegreen"):
    # JSON is YAML: the arguments go in verbatim, so PromQL and {service}-{color} templates need no escaping.
    return """
- name: Blue/green integration
  hosts: localhost
  gather_facts: false
  tasks:
    - name: %s
      %s: %s
""" % (name, module, json.dumps(args))


@pytest.fixture
def switch(run_playbook, namespace):
    """Run k8s_bluegreen once; returns (PlaybookResult, task result)."""

    def _switch(check=False, diff=False, **options):
        result = run_playbook(play("loyalty.platform.k8s_bluegreen", _module_args(namespace, **options)), check=check, diff=diff)
        return result, result.task_result("bluegreen")

    return _switch


def api_requests(stats):
    """Requests the API server served through the proxy, not counting the client's one-off (cached) API discovery."""
    return stats["requests"] - stats["by_verb"].get("discovery", 0)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def when_lease_appears(group, action, timeout=60):
    """Run ``action`` in a thread as soon as the switch has taken its lock (every precondition passed, patches next)."""
    done = threading.Event()

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done.is_set():
            lease = group.lease()
            if lease and lease["spec"].get("holderIdentity"):
                action()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return done, thread


# ---- success paths -------------------------------------------------------------------------------


def test_switch_writes_selectors_audit_and_event_in_fixed_requests(group, switch, kube_sandbox, sandbox):
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", gates=[{"name": "quiet", "query": "vector(0)", "threshold": 1}],
                          prometheus_url=sandbox["PROMETHEUS_URL"])
    assert result.rc == 0, task.get("msg")
    stats = kube_sandbox.stats()
    assert api_requests(stats) == len(GROUP) + 10 == task["api_requests"]
    assert stats["writes"] == len(GROUP) + 3  # Lease create, 4 patches, Event, Lease delete
    assert task["changed"] and task["active_color"] == "green" and task["previous_color"] == "blue"
    group.assert_settled("green")

    ids = set()
    for name in GROUP:
        audit = group.audit(name)
        assert audit["active-color"] == "green" and audit["previous-color"] == "blue" and audit["last-action"] == "switched"
        switched_at = datetime.datetime.strptime(audit["switched-at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        assert abs((datetime.datetime.now(datetime.timezone.utc) - switched_at).total_seconds()) < 120
        ids.add(audit["switch-id"])
    assert ids == {task["switch_id"]}

    [event] = group.our_events()
    assert event["reason"] == "BlueGreenSwitched" and event["type"] == "Normal"
    assert event["involvedObject"]["kind"] == "Service" and event["involvedObject"]["name"] == "user-service"
    assert "from blue to green" in event["message"] and task["switch_id"] in event["message"]
    assert task["audit"]["event"]["name"] == event["metadata"]["name"]
    assert [(s["name"], s["before"]["color"], s["after"]["color"]) for s in task["services"]] == [(n, "blue", "green") for n in GROUP]
    assert task["gates"][0]["passed"]


def test_same_target_changes_nothing_and_writes_nothing(group, switch, kube_sandbox):
    kube_sandbox.reset_stats()
    result, task = switch(target_color="blue")
    assert result.rc == 0 and task["changed"] is False and "already selects color=blue" in task["msg"]
    stats = kube_sandbox.stats()
    assert stats["writes"] == 0 and api_requests(stats) == 1
    group.assert_settled("blue")
    assert group.our_events() == []


def test_check_mode_predicts_without_writing(group, switch, kube_sandbox):
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", check=True, diff=True)
    assert result.rc == 0 and task["changed"] is True
    assert kube_sandbox.stats()["writes"] == 0
    group.assert_settled("blue")
    assert task["diff"]["before"]["point-service"]["selector"]["color"] == "blue"
    assert task["diff"]["after"]["point-service"]["selector"]["color"] == "green"
    assert group.audit("point-service") == {}


def test_rollback_returns_to_the_recorded_color_once(group, switch, kube_sandbox):
    assert switch(target_color="green")[0].rc == 0
    result, task = switch(state="rolled_back")
    assert result.rc == 0 and task["changed"] and task["target_color"] == "blue"
    group.assert_settled("blue")
    audit = group.audit("rewards-service")
    assert audit["previous-color"] == "green" and audit["last-action"] == "rolled_back"
    assert [e["reason"] for e in sorted(group.our_events(), key=lambda e: e["metadata"]["creationTimestamp"])] == \
        ["BlueGreenSwitched", "BlueGreenRolledBack"]

    kube_sandbox.reset_stats()
    result, task = switch(state="rolled_back")
    assert result.rc == 0 and task["changed"] is False and "already rolled back" in task["msg"]
    assert kube_sandbox.stats()["writes"] == 0
    group.assert_settled("blue")


def split_by_hand(group, color, names):
    """Someone points some Services at ``color`` with a plain selector patch, leaving their annotations as they were."""
    for name in names:
        group.services.patch(namespace=group.namespace, name=name, body={"spec": {"selector": {"color": color}}},
                             content_type="application/merge-patch+json")


def records(group):
    """Each Service's audit annotations and selector, read back through the API."""
    return dict((name, {"audit": group.audit(name), "selector": group.service(name)["spec"]["selector"]}) for name in GROUP)


def test_repair_puts_a_mixed_group_on_one_color(group, switch, kube_sandbox):
    """A switch to green, then user-service and admin-service put back on blue by hand: the repair writes one record
    to all four, including point-service and rewards-service, which were on green already (annotation-only patches)."""
    assert switch(target_color="green")[0].rc == 0
    split_by_hand(group, "blue", ["user-service", "admin-service"])
    unchanged_selectors = dict((name, group.service(name)["spec"]["selector"]) for name in ("point-service", "rewards-service"))
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", repair=True)
    assert result.rc == 0, task.get("msg")
    stats = kube_sandbox.stats()
    assert api_requests(stats) == len(GROUP) + 10 == task["api_requests"] and stats["writes"] == len(GROUP) + 3
    group.assert_settled("green")
    assert task["previous_color"] == "mixed"
    assert task["audit"]["services"] == ["user-service", "admin-service"] and task["audit"]["record_only"] == ["point-service", "rewards-service"]
    assert task["audit"]["rollback_color"] == "blue"

    after = records(group)
    [record] = set(tuple(sorted(item["audit"].items())) for item in after.values())
    record = dict(record)
    assert record["switch-id"] == task["switch_id"] and record["active-color"] == "green" and record["previous-color"] == "blue"
    assert record["last-action"] == "switched" and record["switched-at"] == task["audit"]["switched_at"]
    assert all(item["selector"]["color"] == record["active-color"] for item in after.values())
    for name, selector in unchanged_selectors.items():
        assert after[name]["selector"] == selector

    # The record is the one a rollback follows: the whole group goes to blue.
    result, task = switch(state="rolled_back")
    assert result.rc == 0 and task["changed"] and task["target_color"] == "blue", task.get("msg")
    group.assert_settled("blue")
    assert set(tuple(sorted(item["audit"].items())) for item in records(group).values()) == {tuple(sorted({
        "active-color": "blue", "previous-color": "green", "switch-id": task["switch_id"], "last-action": "rolled_back",
        "switched-at": task["audit"]["switched_at"]}.items()))}


@pytest.mark.parametrize("faulted,reverted", [
    ("admin-service", "Reverted point-service (audit record), rewards-service (audit record), user-service;"),
    ("rewards-service", "Reverted point-service (audit record);"),
], ids=["last-selector-patch", "record-only-patch"])
def test_failed_repair_leaves_every_record_as_it_was(group, switch, kube_sandbox, faulted, reverted):
    """A 409 on one patch of a repair: the selectors and the annotation-only records already written are put back,
    so every Service reads back exactly as before, none half-recorded."""
    assert switch(target_color="green")[0].rc == 0
    split_by_hand(group, "blue", ["user-service", "admin-service"])
    before = records(group)
    kube_sandbox.fault(type="fail_writes", namespace=group.namespace, resource="services", name=faulted, count=1, status=409)
    result, task = switch(target_color="green", repair=True)
    assert result.rc != 0 and task.get("failed")
    assert "patching Service %s failed (someone else changed it since it was read)" % faulted in task["msg"], task["msg"]
    assert reverted in task["msg"] and "every Service is back on its previous color" in task["msg"], task["msg"]
    assert task["lease_released"] is True and task["split"] is True  # as split as the repair found it
    assert records(group) == before
    assert group.lease() is None or not group.lease()["spec"].get("holderIdentity")
    assert sorted(e["reason"] for e in group.our_events()) == ["BlueGreenSwitchFailed", "BlueGreenSwitched"]


def test_stale_lease_is_taken_over(group, switch):
    group.put_lease("crashed-runner:99", renewed_seconds_ago=600, duration=60)
    result, task = switch(target_color="green")
    assert result.rc == 0, task.get("msg")
    assert task["lease_released"] is True
    group.assert_settled("green")
    assert group.lease() is None


# ---- refusals before any write -------------------------------------------------------------------


def refused(group, kube_sandbox, result, task, *fragments):
    assert result.rc != 0 and task.get("failed"), "the switch should have been refused"
    for fragment in fragments:
        assert fragment in task["msg"], "%r not in %r" % (fragment, task["msg"])
    assert "nothing was changed" in task["msg"].lower()
    assert kube_sandbox.stats()["writes"] == 0
    assert group.our_events() == []


def test_green_never_ready(kube_client, namespace, switch, kube_sandbox):
    for name in GROUP:
        kube_sandbox.fault(type="never_ready", namespace=namespace, name="%s-green" % name)
    group = Group(kube_client, namespace).create(wait=False)
    group.wait_ready(["%s-blue" % name for name in GROUP])
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green")
    refused(group, kube_sandbox, result, task, "Deployment user-service-green (color green of Service user-service) is not fully ready",
            "Service admin-service: the switched selector app=admin-service,color=green matches 2 Pod(s), none ready")
    group.assert_settled("blue")


def test_one_target_deployment_missing(group, switch, kube_sandbox):
    group.deployments.delete(namespace=group.namespace, name="rewards-service-green")
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green")
    refused(group, kube_sandbox, result, task, "Deployment rewards-service-green (color green of Service rewards-service) does not exist")
    group.assert_settled("blue")


def test_mixed_group_is_refused_listing_colors(group, switch, kube_sandbox):
    group.services.patch(namespace=group.namespace, name="rewards-service", body={"spec": {"selector": {"color": "green"}}},
                         content_type="application/merge-patch+json")
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green")
    refused(group, kube_sandbox, result, task, "user-service=blue, point-service=blue, rewards-service=green, admin-service=blue", "repair: true")
    assert group.colors()["rewards-service"] == "green"


def test_lease_held_by_another_holder(group, switch, kube_sandbox):
    group.put_lease("ci-runner-7:4242", renewed_seconds_ago=5, duration=300)
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green")
    refused(group, kube_sandbox, result, task, "Lease %s/bluegreen-lock is held by ci-runner-7:4242" % group.namespace, "expires at")
    assert group.colors() == dict.fromkeys(GROUP, "blue")
    assert group.lease()["spec"]["holderIdentity"] == "ci-runner-7:4242"


def test_gate_above_threshold(group, switch, kube_sandbox, sandbox):
    gate = {"name": "error-rate", "query": 'label_replace(vector(5), "color", "{color}", "", "")', "threshold": 1, "comparison": "<="}
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", prometheus_url=sandbox["PROMETHEUS_URL"], gates=[gate])
    refused(group, kube_sandbox, result, task, "gate error-rate: 5 is not <= 1", 'label_replace(vector(5), "color", "green", "", "")')
    group.assert_settled("blue")


def _prometheus_service(sandbox):
    namespace, rest = sandbox["SANDBOX_PROMETHEUS_SERVICE"].split("/", 1)
    name, port = rest.rsplit(":", 1)
    return {"namespace": namespace, "name": name, "port": port}


def test_gates_through_the_services_proxy_switch_and_refuse(group, switch, kube_sandbox, sandbox):
    """The production path: the gates reach the in-cluster Prometheus through the API server, with the deployer's rights."""
    failing = {"name": "error-rate", "query": 'label_replace(vector(5), "color", "{color}", "", "")', "threshold": 1}
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", prometheus_service=_prometheus_service(sandbox), gates=[failing])
    refused(group, kube_sandbox, result, task, "gate error-rate: 5 is not <= 1", 'label_replace(vector(5), "color", "green", "", "")')
    assert kube_sandbox.stats()["proxied"] == {"services monitoring/prometheus-server:9090": 1}
    group.assert_settled("blue")

    result, task = switch(target_color="green", prometheus_service=_prometheus_service(sandbox),
                          gates=[{"name": "quiet", "query": "vector(0)", "threshold": 1}])
    assert result.rc == 0, task.get("msg")
    assert task["gates"][0]["passed"] and task["gates"][0]["observed"] == [0.0]
    group.assert_settled("green")


def test_prometheus_unreachable(group, switch, kube_sandbox):
    url = "http://127.0.0.1:%d" % closed_port()
    kube_sandbox.reset_stats()
    result, task = switch(target_color="green", prometheus_url=url, gates=[{"name": "error-rate", "query": "vector(0)", "threshold": 1}])
    refused(group, kube_sandbox, result, task, "Prometheus at %s is unreachable" % url, "gate error-rate cannot be evaluated")
    group.assert_settled("blue")


# ---- failures while switching: everything already changed goes back ----------------------------------


def failed_and_reverted(group, result, task, *fragments):
    assert result.rc != 0 and task.get("failed")
    for fragment in fragments:
        assert fragment in task["msg"], "%r not in %r" % (fragment, task["msg"])
    assert task["split"] is False and task["lease_released"] is True
    group.assert_settled("blue")
    for name in GROUP:
        assert group.audit(name) == {}, "audit annotations of %s not restored" % name
    [event] = group.our_events()
    assert event["reason"] == "BlueGreenSwitchFailed" and event["type"] == "Warning"


def test_third_patch_fails_with_500(group, switch, kube_sandbox):
    kube_sandbox.fault(type="fail_writes", namespace=group.namespace, resource="services", name="rewards-service", count=1, status=500)
    result, task = switch(target_color="green")
    failed_and_reverted(group, result, task, "patching Service rewards-service failed", "HTTP 500",
                        "Reverted user-service, point-service;")


def test_concurrent_patches_a_refusal_reverts_them_all_then_the_group_switches(group, switch, kube_sandbox):
    """patch_concurrency: the four patches in flight together. A 500 on point-service (the patches slowed so that the
    others are in flight when it comes) puts every Service back; once the fault is gone the same switch goes through."""
    kube_sandbox.fault(type="latency", namespace=group.namespace, resource="services", verb="patch", ms=300)
    kube_sandbox.fault(type="fail_writes", namespace=group.namespace, resource="services", name="point-service", count=1, status=500)
    result, task = switch(target_color="green", patch_concurrency=4)
    failed_and_reverted(group, result, task, "patching Service point-service failed", "HTTP 500", "every Service is back on its previous color")
    kube_sandbox.clear_faults()
    result, task = switch(target_color="green", patch_concurrency=4)
    assert result.rc == 0, task.get("msg")
    group.assert_settled("green")
    assert {name: group.audit(name)["active-color"] for name in GROUP} == dict.fromkeys(GROUP, "green")


def test_conflict_from_a_concurrent_edit(group, switch, kube_sandbox):
    kube_sandbox.fault(type="fail_writes", namespace=group.namespace, resource="services", name="point-service", count=1, status=409)
    result, task = switch(target_color="green")
    failed_and_reverted(group, result, task, "patching Service point-service failed (someone else changed it since it was read)",
                        "Reverted user-service;")


def test_real_concurrent_edit_trips_the_resource_version_precondition(group, switch, kube_sandbox):
    """A second client edits admin-service while the patches are in flight: its write wins, ours is refused and reverted."""
    kube_sandbox.fault(type="latency", namespace=group.namespace, resource="services", verb="patch", ms=400)

    def edit():
        group.services.patch(namespace=group.namespace, name="admin-service", body={"metadata": {"labels": {"edited-by": "someone-else"}}},
                             content_type="application/merge-patch+json")

    done, thread = when_lease_appears(group, edit)
    result, task = switch(target_color="green")
    done.set()
    thread.join()
    failed_and_reverted(group, result, task, "patching Service admin-service failed (someone else changed it since it was read)")
    assert group.service("admin-service")["metadata"]["labels"]["edited-by"] == "someone-else"


def test_verification_failure_after_all_patches(group, switch, kube_sandbox):
    """Every precondition passes; once the lock is taken the green Pods are evicted and their replacements never
    turn ready (never_ready), so after the last patch the EndpointSlices hold no ready green endpoint and the
    whole group is reverted.

    The latency on Service patches keeps the four patches in flight long enough (4 x 0.5 s) for the eviction to
    land between the checks and the verification; the verification waits wait_timeout for the slices to recover.
    """
    kube_sandbox.fault(type="latency", namespace=group.namespace, resource="services", verb="patch", ms=500)
    pods = group.kube.resources.get(api_version="v1", kind="Pod")

    def evict_green():
        for name in GROUP:
            kube_sandbox.fault(type="never_ready", namespace=group.namespace, name="%s-green" % name)
        pods.delete(namespace=group.namespace, label_selector="color=green")

    done, thread = when_lease_appears(group, evict_green)
    result, task = switch(target_color="green", wait_timeout=2)
    done.set()
    thread.join()
    failed_and_reverted(group, result, task, "verification after the switch failed",
                        "its EndpointSlices hold no ready endpoint of a color=green Pod after the switch",
                        "Reverted user-service, point-service, rewards-service, admin-service;")


# ---- the info module ---------------------------------------------------------------------------


def test_info_reports_colors_replicas_hpa_and_lease(group, run_playbook, kube_sandbox, namespace):
    group.hpas.create(namespace=namespace, body={
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "user-service-blue"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service-blue"},
                 "minReplicas": 2, "maxReplicas": 6,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
    })
    kube_sandbox.set_hpa(namespace, "user-service-blue", 4)
    group.wait_ready(["user-service-blue"])
    deadline = time.monotonic() + 20
    while (_status_field(group.hpas.get(namespace=namespace, name="user-service-blue"), "currentReplicas")) != 4:
        assert time.monotonic() < deadline, "the emulated HPA never scaled to 4"
        time.sleep(0.1)
    group.wait_ready(["user-service-blue"])
    group.put_lease("ci-runner-7:4242", renewed_seconds_ago=0, duration=120)

    kube_sandbox.reset_stats()
    result = run_playbook(play("loyalty.platform.k8s_bluegreen_info", _module_args(namespace)), check=True)
    info = result.task_result("bluegreen")
    assert result.rc == 0 and info["changed"] is False
    assert kube_sandbox.stats()["writes"] == 0 and api_requests(kube_sandbox.stats()) == 5 == info["api_requests"]
    assert info["active_color"] == "blue" and info["inactive_colors"] == ["green"] and info["missing_services"] == []
    user_blue = info["colors"]["blue"]["deployments"]["user-service"]
    assert user_blue["hpa_current_replicas"] == 4 and user_blue["replicas"] == 4 and user_blue["ready_replicas"] == 4
    assert info["colors"]["green"]["deployments"]["user-service"]["hpa"] is None
    assert info["colors"]["green"]["ready"] is True
    services = dict((s["name"], s) for s in info["services"])
    assert services["user-service"]["endpoints"] == {"ready": 4, "not_ready": 0}
    assert services["point-service"]["selector"] == {"app": "point-service", "color": "blue"}
    assert info["lease"]["holder"] == "ci-runner-7:4242" and info["lease"]["expired"] is False


def test_info_reports_a_mixed_group(group, run_playbook, namespace):
    group.services.patch(namespace=namespace, name="admin-service", body={"spec": {"selector": {"color": "green"}}},
                         content_type="application/merge-patch+json")
    result = run_playbook(play("loyalty.platform.k8s_bluegreen_info", _module_args(namespace, services=GROUP + ["ghost-service"])))
    info = result.task_result("bluegreen")
    assert info["active_color"] == "mixed" and info["missing_services"] == ["ghost-service"] and info["lease"] is None
