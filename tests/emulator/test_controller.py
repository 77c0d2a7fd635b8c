"""Controllers: Deployment -> ReplicaSet -> Pods, readiness, rollouts, EndpointSlices, HPA, PDB, cascading deletes, proxy."""

import re
import time

from emu_support import deployment, service

DEP = "/apis/apps/v1/namespaces/emu/deployments"
SVC = "/api/v1/namespaces/emu/services"
PODS = "/api/v1/namespaces/emu/pods"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/emu/endpointslices"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"


def pods(emulator, selector=None):
    path = PODS + ("?labelSelector=" + selector if selector else "")
    return emulator.http("GET", path)[1]["items"]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def get(emulator, path):
    return emulator.http("GET", path)[1]


def dep_status(emulator, name="web"):
    """The Deployment's status ({} before the controller first wrote it)."""
    return get(emulator, DEP + "/" + name).get("status", {})


def test_deployment_creates_pods_that_turn_ready_after_the_delay(emulator, ns):
    emulator.control("POST", "config", {"ready_delay": 0.6})
    dep = emulator.body("POST", DEP, deployment("web", replicas=3))
    created = time.monotonic()
    current = emulator.wait_for(lambda: len(pods(emulator)) == 3 and pods(emulator), message="3 pods")
    assert time.monotonic() - created < 0.5
    rs_list = get(emulator, "/apis/apps/v1/namespaces/emu/replicasets")["items"]
    assert len(rs_list) == 1
    rs = rs_list[0]
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == "web-" + pod_hash and rs["metadata"]["ownerReferences"][0]["uid"] == dep["metadata"]["uid"]
    for pod in current:
        md = pod["metadata"]
        assert re.fullmatch(r"web-%s-[bcdfghjklmnpqrstvwxz2456789]{5}" % pod_hash, md["name"])
        assert md["labels"] == {"app": "web", "pod-template-hash": pod_hash}
        assert md["ownerReferences"][0]["kind"] == "ReplicaSet" and md["ownerReferences"][0]["controller"] is True
        assert pod["spec"]["nodeName"] == "emu-node-1" and pod["spec"]["containers"][0]["image"] == "registry.local/loyalty/app:1.0.0"
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"].startswith("10.244.")
        assert not ready(pod) and pod["status"]["containerStatuses"][0]["ready"] is False
    status = dep_status(emulator)
    assert status.get("readyReplicas") is None and status["unavailableReplicas"] == 3
    emulator.wait_for(lambda: all(ready(p) for p in pods(emulator)), timeout=5, message="ready pods")
    assert time.monotonic() - created >= 0.6
    assert all(p["status"]["containerStatuses"][0]["ready"] for p in pods(emulator))
    final = emulator.wait_for(lambda: dep_status(emulator).get("availableReplicas") == 3 and get(emulator, DEP + "/web"),
                              message="available")
    status = final["status"]
    assert status["observedGeneration"] == final["metadata"]["generation"] == 1
    assert status["replicas"] == status["updatedReplicas"] == status["readyReplicas"] == 3 and "unavailableReplicas" not in status
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["status"] == "True" and conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert final["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    # A steady state does not churn resourceVersions.
    rv = final["metadata"]["resourceVersion"]
    time.sleep(0.3)
    assert get(emulator, DEP + "/web")["metadata"]["resourceVersion"] == rv


def test_scaling_and_rolling_update(emulator, ns):
    emulator.http("POST", DEP, deployment("web", replicas=2))
    emulator.wait_for(lambda: dep_status(emulator).get("availableReplicas") == 2, message="2 available")
    emulator.http("PATCH", DEP + "/web", {"spec": {"replicas": 4}}, MERGE)
    emulator.wait_for(lambda: len([p for p in pods(emulator) if ready(p)]) == 4, message="scale up")
    emulator.http("PATCH", DEP + "/web", {"spec": {"replicas": 1}}, MERGE)
    emulator.wait_for(lambda: len(pods(emulator)) == 1, message="scale down")
    old_hash = pods(emulator)[0]["metadata"]["labels"]["pod-template-hash"]
    emulator.http("PATCH", DEP + "/web", {"spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "app", "image": "registry.local/loyalty/app:2.0.0"}]}}}}, SMP)

    def rolled():
        current = pods(emulator)
        return len(current) == 2 and all(p["metadata"]["labels"]["pod-template-hash"] != old_hash and ready(p) for p in current)

    emulator.wait_for(rolled, message="rollout")
    assert {p["spec"]["containers"][0]["image"] for p in pods(emulator)} == {"registry.local/loyalty/app:2.0.0"}
    dep = emulator.wait_for(lambda: (dep_status(emulator).get("updatedReplicas") == 2
                                     and dep_status(emulator).get("replicas") == 2 and get(emulator, DEP + "/web")),
                            message="status after rollout")
    assert dep["status"]["observedGeneration"] == dep["metadata"]["generation"] == 4
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    replicasets = get(emulator, "/apis/apps/v1/namespaces/emu/replicasets")["items"]
    assert sorted(rs["spec"]["replicas"] for rs in replicasets) == [0, 2]


def test_rollout_waits_for_new_pods_and_reports_deadline(emulator, ns):
    manifest = deployment("web", replicas=2)
    manifest["spec"]["progressDeadlineSeconds"] = 1
    manifest["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    emulator.http("POST", DEP, manifest)
    emulator.wait_for(lambda: dep_status(emulator).get("availableReplicas") == 2, message="available")
    emulator.control("POST", "faults", {"type": "never_ready", "namespace": "emu", "name": "web"})
    emulator.http("PATCH", DEP + "/web", {"spec": {"template": {"metadata": {"annotations": {"restartedAt": "now"}}}}}, SMP)
    time.sleep(0.3)
    current = pods(emulator)
    # maxUnavailable 0: the old pods stay until new ones are ready, which never happens here.
    assert len(current) == 3 and sum(1 for p in current if ready(p)) == 2
    dep = emulator.wait_for(lambda: any(c["reason"] == "ProgressDeadlineExceeded" for c in dep_status(emulator).get("conditions", []))
                            and get(emulator, DEP + "/web"), timeout=4, message="deadline")
    progressing = {c["type"]: c for c in dep["status"]["conditions"]}["Progressing"]
    assert progressing["status"] == "False" and "has timed out progressing" in progressing["message"]
    assert dep["status"]["updatedReplicas"] == 1 and dep["status"]["unavailableReplicas"] == 1


def test_endpointslices_follow_selector_and_readiness(emulator, ns, core):
    # The green pod is kept unready by a fault until the end of the test.
    emulator.control("POST", "faults", {"type": "never_ready", "namespace": "emu", "name": "green"})
    emulator.http("POST", DEP, deployment("blue", labels={"app": "web", "slot": "blue"}))
    emulator.http("POST", DEP, deployment("green", replicas=1, labels={"app": "web", "slot": "green"}))
    svc = emulator.body("POST", SVC, service("web", {"app": "web", "slot": "blue"}))
    emulator.wait_for(lambda: len(pods(emulator)) == 3 and sum(1 for p in pods(emulator) if ready(p)) == 2, message="blue pods ready")

    def slice_for(name="web"):
        return get(emulator, SLICES + "?labelSelector=kubernetes.io/service-name%3D" + name)["items"]

    emulator.wait_for(lambda: len(slice_for()[0]["endpoints"]) == 2 and all(e["conditions"]["ready"] for e in slice_for()[0]["endpoints"]),
                      message="blue endpoints")
    endpoint_slice = slice_for()[0]
    assert endpoint_slice["metadata"]["name"] == "web-emu" and endpoint_slice["addressType"] == "IPv4"
    assert endpoint_slice["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]  # named targetPort resolved
    assert endpoint_slice["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    targets = {e["targetRef"]["name"] for e in endpoint_slice["endpoints"]}
    assert targets == {p["metadata"]["name"] for p in pods(emulator, "slot%3Dblue")}
    assert all(e["targetRef"]["kind"] == "Pod" and e["addresses"][0].startswith("10.244.") for e in endpoint_slice["endpoints"])
    endpoints = core.read_namespaced_endpoints("web", "emu")
    assert len(endpoints.subsets[0].addresses) == 2 and endpoints.subsets[0].ports[0].port == 8080
    # Switch the selector: the very next read sees the (unready) green pod only.
    switch = {"metadata": {"resourceVersion": svc["metadata"]["resourceVersion"]}, "spec": {"selector": {"slot": "green"}}}
    switched = emulator.body("PATCH", SVC + "/web", switch, SMP)
    assert switched["spec"]["selector"] == {"app": "web", "slot": "green"}
    green_pod = pods(emulator, "slot%3Dgreen")[0]["metadata"]["name"]
    endpoint = slice_for()[0]["endpoints"]
    assert [e["targetRef"]["name"] for e in endpoint] == [green_pod] and endpoint[0]["conditions"]["ready"] is False
    assert core.read_namespaced_endpoints("web", "emu").subsets[0].not_ready_addresses[0].target_ref.name == green_pod
    # Readiness changes are reflected once the pod turns ready.
    emulator.control("DELETE", "faults")
    emulator.wait_for(lambda: slice_for()[0]["endpoints"][0]["conditions"]["ready"] is True, message="ready endpoint")
    assert core.read_namespaced_endpoints("web", "emu").subsets[0].addresses[0].target_ref.name == green_pod
    # Deleting the Service removes its slice (owner GC) and Endpoints.
    emulator.http("DELETE", SVC + "/web")
    assert slice_for() == [] and emulator.http("GET", "/api/v1/namespaces/emu/endpoints/web")[0] == 404


def test_hpa_clamps_and_simulated_load(emulator, ns):
    emulator.http("POST", DEP, deployment("web", replicas=1))
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 4}}
    status, created = emulator.http("POST", "/apis/autoscaling/v2/namespaces/emu/horizontalpodautoscalers", hpa)
    assert status == 201 and created["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    path = "/apis/autoscaling/v2/namespaces/emu/horizontalpodautoscalers/web"
    emulator.wait_for(lambda: get(emulator, DEP + "/web")["spec"]["replicas"] == 2, message="clamped up")
    emulator.wait_for(lambda: get(emulator, path).get("status", {}).get("desiredReplicas") == 2, message="hpa status")
    assert get(emulator, path)["status"]["currentReplicas"] == 2
    answer = emulator.control("POST", "hpa", {"namespace": "emu", "name": "web", "replicas": 10})
    assert answer["desiredReplicas"] == 4 and get(emulator, DEP + "/web")["spec"]["replicas"] == 4
    emulator.wait_for(lambda: len(pods(emulator)) == 4, message="4 pods")
    limited = {c["type"]: c for c in get(emulator, path)["status"]["conditions"]}["ScalingLimited"]
    assert limited["status"] == "True" and limited["reason"] == "TooManyReplicas"
    emulator.control("POST", "hpa", {"namespace": "emu", "name": "web", "replicas": 3})
    assert get(emulator, DEP + "/web")["spec"]["replicas"] == 3
    emulator.wait_for(lambda: get(emulator, path)["status"]["desiredReplicas"] == 3, message="desired 3")
    # Lowering maxReplicas clamps the target down.
    emulator.http("PATCH", path, {"spec": {"maxReplicas": 2}}, MERGE)
    emulator.wait_for(lambda: get(emulator, DEP + "/web")["spec"]["replicas"] == 2, message="clamped down")
    assert emulator.http("POST", "/_emulator/hpa", {"namespace": "emu", "name": "nope", "replicas": 1})[0] == 404


def test_namespace_delete_cascades(emulator, ns):
    emulator.http("POST", DEP, deployment("web"))
    emulator.http("POST", SVC, service("web", {"app": "web"}))
    emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "cfg"}, "data": {}})
    emulator.wait_for(lambda: len(pods(emulator)) == 2, message="pods")
    status, body = emulator.http("DELETE", "/api/v1/namespaces/emu")
    assert status == 200 and body["kind"] == "Namespace" and body["status"]["phase"] == "Terminating"
    assert emulator.http("GET", "/api/v1/namespaces/emu")[0] == 404
    for path in ("/api/v1/pods", "/apis/apps/v1/deployments", "/apis/apps/v1/replicasets", "/api/v1/configmaps",
                 "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/serviceaccounts"):
        assert [i for i in get(emulator, path)["items"] if i["metadata"]["namespace"] == "emu"] == [], path
    assert emulator.http("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "x"}})[0] == 404


def test_owner_garbage_collection(emulator, ns):
    emulator.http("POST", DEP, deployment("web"))
    emulator.wait_for(lambda: len(pods(emulator)) == 2, message="pods")
    emulator.http("DELETE", DEP + "/web", {"propagationPolicy": "Background"})
    assert pods(emulator) == [] and get(emulator, "/apis/apps/v1/namespaces/emu/replicasets")["items"] == []
    # Orphan keeps dependents and strips the ownerReference.
    emulator.http("POST", DEP, deployment("api"))
    emulator.wait_for(lambda: len(pods(emulator)) == 2, message="pods")
    emulator.http("DELETE", DEP + "/api?propagationPolicy=Orphan")
    replicasets = get(emulator, "/apis/apps/v1/namespaces/emu/replicasets")["items"]
    assert len(replicasets) == 1 and "ownerReferences" not in replicasets[0]["metadata"]
    assert len(pods(emulator)) == 2
    # Any object can own any other.
    owner = emulator.body("POST", "/api/v1/namespaces/emu/configmaps", {"metadata": {"name": "owner"}, "data": {}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    emulator.http("POST", "/api/v1/namespaces/emu/secrets", {"metadata": {"name": "owned", "ownerReferences": [ref]}, "data": {}})
    emulator.http("DELETE", "/api/v1/namespaces/emu/configmaps/owner")
    assert emulator.http("GET", "/api/v1/namespaces/emu/secrets/owned")[0] == 404


def test_pdb_status(emulator, ns):
    emulator.http("POST", DEP, deployment("web", replicas=3))
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}
    emulator.http("POST", "/apis/policy/v1/namespaces/emu/poddisruptionbudgets", pdb)
    path = "/apis/policy/v1/namespaces/emu/poddisruptionbudgets/web"
    status = emulator.wait_for(lambda: get(emulator, path).get("status", {}).get("currentHealthy") == 3 and get(emulator, path)["status"],
                               message="pdb status")
    assert status["expectedPods"] == 3 and status["desiredHealthy"] == 2 and status["disruptionsAllowed"] == 1


def test_simple_workload_statuses(emulator, ns):
    template = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}
    sts = {"metadata": {"name": "db"}, "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template}}
    emulator.http("POST", "/apis/apps/v1/namespaces/emu/statefulsets", sts)
    job = {"metadata": {"name": "migrate"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "flyway:10"}]}}}}
    emulator.http("POST", "/apis/batch/v1/namespaces/emu/jobs", job)
    sts_status = emulator.wait_for(lambda: get(emulator, "/apis/apps/v1/namespaces/emu/statefulsets/db").get("status", {}).get("readyReplicas") == 2
                                   and get(emulator, "/apis/apps/v1/namespaces/emu/statefulsets/db")["status"], message="sts")
    assert sts_status["currentRevision"] == sts_status["updateRevision"]
    job_status = emulator.wait_for(lambda: get(emulator, "/apis/batch/v1/namespaces/emu/jobs/migrate").get("status", {}).get("succeeded")
                                   and get(emulator, "/apis/batch/v1/namespaces/emu/jobs/migrate")["status"], message="job")
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job_status["conditions"])


def test_pod_and_service_proxy(emulator, ns, core):
    emulator.control("POST", "config", {"ready_delay": 0.5})
    emulator.http("POST", DEP, deployment("web", replicas=1))
    emulator.http("POST", SVC, service("web", {"app": "web"}))
    pod = emulator.wait_for(lambda: pods(emulator), message="pod")[0]["metadata"]["name"]
    status, body = emulator.http("GET", PODS + "/%s/proxy/actuator/health/readiness" % pod)
    assert status == 503 and body == {"status": "DOWN"}  # not ready yet
    status, body = emulator.http("GET", SVC + "/web:http/proxy/actuator/health")
    assert status == 503 and body["kind"] == "Status" and "no endpoints available" in body["message"]
    emulator.wait_for(lambda: ready(pods(emulator)[0]), message="ready")
    status, body, headers = emulator.http_full("GET", PODS + "/%s:8080/proxy/actuator/health" % pod)
    assert status == 200 and body["status"] == "UP" and "json" in headers["Content-Type"]
    for path in ("actuator/health/liveness", "actuator/health/readiness", "actuator/info"):
        assert emulator.http("GET", PODS + "/%s/proxy/%s" % (pod, path))[1] == {"status": "UP"}
    assert emulator.http("GET", SVC + "/web:80/proxy/actuator/health/readiness")[0] == 200
    resp = core.connect_get_namespaced_pod_proxy_with_path(pod + ":8080", "emu", "actuator/health/liveness", _preload_content=False)
    assert resp.status == 200 and resp.json() == {"status": "UP"}
    assert emulator.http("GET", PODS + "/nope/proxy/actuator/health")[0] == 404


def test_typed_models_accept_controller_output(emulator, ns, api_client):
    """The official client's (pydantic) models must parse every object the emulator produces."""
    from kubernetes import client
    emulator.http("POST", DEP, deployment("web", replicas=2))
    emulator.http("POST", SVC, {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                                                                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    emulator.http("POST", "/apis/autoscaling/v2/namespaces/emu/horizontalpodautoscalers", {"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 3}})
    emulator.http("POST", "/apis/policy/v1/namespaces/emu/poddisruptionbudgets", {"metadata": {"name": "web"}, "spec": {
        "maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}}})
    emulator.wait_for(lambda: dep_status(emulator).get("availableReplicas") == 2, message="available")
    core_api, apps_api = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    assert core_api.list_node().items[0].status.node_info.kubelet_version == "v1.30.0"
    pod = core_api.list_namespaced_pod("emu").items[0]
    assert pod.status.container_statuses[0].ready is True and pod.status.pod_ip.startswith("10.244.")
    assert apps_api.read_namespaced_deployment("web", "emu").status.conditions[0].type == "Available"
    assert apps_api.list_namespaced_replica_set("emu").items[0].status.ready_replicas == 2
    assert core_api.read_namespaced_service("lb", "emu").spec.ports[0].node_port >= 30000
    emulator.wait_for(lambda: core_api.read_namespaced_service_status("lb", "emu").status.load_balancer.ingress, message="lb")
    assert client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice("emu").items[0].endpoints[0].conditions.ready is True
    assert core_api.read_namespaced_endpoints("lb", "emu").subsets[0].ports[0].port == 8080
    hpa = emulator.wait_for(lambda: client.AutoscalingV2Api(api_client).read_namespaced_horizontal_pod_autoscaler("web", "emu").status,
                            message="hpa status")
    assert hpa.desired_replicas == 2
    pdb = emulator.wait_for(lambda: client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget("web", "emu").status, message="pdb")
    assert pdb.expected_pods == 2 and pdb.disruptions_allowed == 1
    assert core_api.read_namespace("emu").status.phase == "Active"
