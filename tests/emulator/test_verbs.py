"""Verbs, patch types, selectors, metadata, optimistic concurrency, dry run, validation, defaults, subresources."""

import base64
import json
import threading

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ConflictError

from emu_support import deployment, service

CM = "/api/v1/namespaces/emu/configmaps"
DEP = "/apis/apps/v1/namespaces/emu/deployments"
SVC = "/api/v1/namespaces/emu/services"
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def configmap(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def test_create_get_and_already_exists(emulator, ns):
    status, created = emulator.http("POST", CM, configmap("a"))
    assert status == 201
    md = created["metadata"]
    assert md["namespace"] == "emu" and len(md["uid"]) == 36 and md["creationTimestamp"].endswith("Z") and md["resourceVersion"].isdigit()
    assert "generation" not in md  # ConfigMaps have no generation on a real cluster
    status, again = emulator.http("POST", CM, configmap("a"))
    assert status == 409 and again["reason"] == "AlreadyExists" and again["message"] == 'configmaps "a" already exists'
    assert again["details"] == {"name": "a", "kind": "configmaps"}
    status, got = emulator.http("GET", CM + "/a")
    assert status == 200 and got == created
    status, missing = emulator.http("GET", DEP + "/nope")
    assert status == 404 and missing["reason"] == "NotFound" and missing["message"] == 'deployments.apps "nope" not found'
    assert missing["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    status, dep = emulator.http("POST", DEP, deployment("web"))
    assert status == 201 and dep["metadata"]["generation"] == 1
    # A built-in kind with a status subresource answers with an (empty) status struct from creation on.
    assert dep["status"] == {} and "status" not in created


def test_generate_name(emulator, ns):
    status, created = emulator.http("POST", CM, {"metadata": {"generateName": "job-"}, "data": {}})
    assert status == 201 and created["metadata"]["name"].startswith("job-") and len(created["metadata"]["name"]) == 9


def test_list_kinds_and_all_namespaces(emulator, ns, dyn):
    emulator.http("POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    emulator.http("POST", CM, configmap("a"))
    emulator.http("POST", "/api/v1/namespaces/other/configmaps", configmap("b"))
    emulator.http("POST", DEP, deployment("web"))
    emulator.http("POST", "/apis/apps/v1/namespaces/other/deployments", deployment("api"))
    status, listed = emulator.http("GET", CM)
    assert status == 200 and listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert listed["metadata"]["resourceVersion"].isdigit()
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "kube-root-ca.crt"]
    assert "kind" not in listed["items"][0]  # built-in list items carry no TypeMeta, as on a real server
    all_cms = emulator.body("GET", "/api/v1/configmaps")
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in all_cms["items"]} >= {("emu", "a"), ("other", "b")}
    all_deps = emulator.body("GET", "/apis/apps/v1/deployments")
    assert all_deps["kind"] == "DeploymentList" and {i["metadata"]["name"] for i in all_deps["items"]} == {"web", "api"}
    pods = dyn.resources.get(api_version="v1", kind="Pod").get()
    assert pods.kind == "PodList"
    assert emulator.http("GET", "/api/v1/namespaces/emu/configmaps?limit=1")[1]["metadata"]["remainingItemCount"] == 1


def test_pagination_with_limit_and_continue(emulator, ns):
    for i in range(5):
        emulator.http("POST", CM, configmap("cm-%d" % i, labels={"page": "yes"}))
    names, token = [], ""
    while True:
        page = emulator.body("GET", CM + "?labelSelector=page%3Dyes&limit=2" + ("&continue=" + token if token else ""))
        assert len(page["items"]) <= 2
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == ["cm-%d" % i for i in range(5)]


def test_label_selectors(emulator, ns, core):
    emulator.http("POST", CM, configmap("blue", {"app": "web", "color": "blue", "tier": "front"}))
    emulator.http("POST", CM, configmap("green", {"app": "web", "color": "green"}))
    emulator.http("POST", CM, configmap("db", {"app": "db"}))

    def names(selector):
        return sorted(i.metadata.name for i in core.list_namespaced_config_map("emu", label_selector=selector).items)

    assert names("app=web") == ["blue", "green"]
    assert names("app==web") == ["blue", "green"]
    assert names("app!=web") == ["db", "kube-root-ca.crt"]
    assert names("color in (blue, red)") == ["blue"]
    assert names("color notin (blue)") == ["db", "green", "kube-root-ca.crt"]
    assert names("tier") == ["blue"]
    assert names("!color") == ["db", "kube-root-ca.crt"]
    assert names("app=web,color!=blue") == ["green"]
    assert names("app in (web,db),!tier") == ["db", "green"]
    status, body = emulator.http("GET", CM + "?labelSelector=app%3D%3D%3D")
    assert status == 400 and body["reason"] == "BadRequest"


def test_field_selectors(emulator, ns, core):
    emulator.http("POST", CM, configmap("one"))
    emulator.http("POST", CM, configmap("two", data={"mode": "x"}))
    emulator.http("POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    emulator.http("POST", "/api/v1/namespaces/other/configmaps", configmap("one"))
    assert [i.metadata.name for i in core.list_namespaced_config_map("emu", field_selector="metadata.name=one").items] == ["one"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.name=one,metadata.namespace!=emu").items
    assert [(i.metadata.namespace, i.metadata.name) for i in everywhere] == [("other", "one")]
    assert [i.metadata.name for i in core.list_namespaced_config_map("emu", field_selector="data.mode==x").items] == ["two"]
    emulator.http("POST", DEP, deployment("web", replicas=1))
    pod = emulator.wait_for(lambda: core.list_namespaced_pod("emu", field_selector="status.phase=Running").items, message="running pod")[0]
    assert core.list_namespaced_pod("emu", field_selector="status.phase!=Running").items == []
    assert core.list_namespaced_pod("emu", field_selector="spec.nodeName=emu-node-1").items[0].metadata.name == pod.metadata.name


def test_replace_and_optimistic_concurrency(emulator, ns):
    created = emulator.body("POST", CM, configmap("a"))
    rv = created["metadata"]["resourceVersion"]
    body = dict(created, data={"k": "changed"})
    status, replaced = emulator.http("PUT", CM + "/a", body)
    assert status == 200 and replaced["data"] == {"k": "changed"} and int(replaced["metadata"]["resourceVersion"]) > int(rv)
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    status, stale = emulator.http("PUT", CM + "/a", dict(created, data={"k": "lost update"}))
    assert status == 409 and stale["reason"] == "Conflict"
    assert stale["message"] == ('Operation cannot be fulfilled on configmaps "a": the object has been modified; '
                                'please apply your changes to the latest version and try again')
    assert emulator.http("GET", CM + "/a")[1]["data"] == {"k": "changed"}
    # No resourceVersion in the body: an unconditional update.
    unconditional = {"metadata": {"name": "a"}, "data": {"k": "forced"}}
    assert emulator.http("PUT", CM + "/a", unconditional)[1]["data"] == {"k": "forced"}
    status, body = emulator.http("PUT", CM + "/b", {"metadata": {"name": "b"}})
    assert status == 404
    status, body = emulator.http("PUT", CM + "/a", {"metadata": {"name": "zzz"}})
    assert status == 400 and "does not match the name on the URL" in body["message"]


def test_noop_writes_keep_resource_version_and_generation(emulator, ns):
    dep = emulator.body("POST", DEP, deployment("web"))
    emulator.wait_for(lambda: emulator.http("GET", DEP + "/web")[1].get("status", {}).get("readyReplicas") == 2, message="ready")
    current = emulator.body("GET", DEP + "/web")
    rv, generation = current["metadata"]["resourceVersion"], current["metadata"]["generation"]
    manifest = deployment("web")
    for ctype, body in ((SMP, manifest), (MERGE, {"spec": {"replicas": 2}}), (JSONP, [{"op": "replace", "path": "/spec/replicas", "value": 2}])):
        status, patched = emulator.http("PATCH", DEP + "/web", body, ctype)
        assert status == 200 and patched["metadata"]["resourceVersion"] == rv and patched["metadata"]["generation"] == generation, ctype
    status, put = emulator.http("PUT", DEP + "/web", current)
    assert status == 200 and put["metadata"]["resourceVersion"] == rv
    # Labels are metadata: resourceVersion moves, generation does not.
    labelled = emulator.body("PATCH", DEP + "/web", {"metadata": {"labels": {"team": "loyalty"}}}, MERGE)
    assert labelled["metadata"]["resourceVersion"] != rv and labelled["metadata"]["generation"] == generation
    # A spec change bumps generation; observedGeneration follows once the controller has seen it.
    scaled = emulator.body("PATCH", DEP + "/web", {"spec": {"replicas": 3}}, MERGE)
    assert scaled["metadata"]["generation"] == generation + 1
    emulator.wait_for(lambda: emulator.http("GET", DEP + "/web")[1]["status"].get("observedGeneration") == generation + 1, message="observed")
    assert dep["metadata"]["uid"] == scaled["metadata"]["uid"]


def test_patch_with_stale_resource_version_conflicts(emulator, ns):
    created = emulator.body("POST", CM, configmap("a"))
    rv = created["metadata"]["resourceVersion"]
    status, ok = emulator.http("PATCH", CM + "/a", {"metadata": {"resourceVersion": rv}, "data": {"k": "1"}}, MERGE)
    assert status == 200 and ok["data"]["k"] == "1"
    for ctype, body in ((MERGE, {"metadata": {"resourceVersion": rv}, "data": {"k": "2"}}),
                        (SMP, {"metadata": {"resourceVersion": rv}, "data": {"k": "2"}}),
                        (JSONP, [{"op": "replace", "path": "/metadata/resourceVersion", "value": rv}, {"op": "replace", "path": "/data/k", "value": "2"}])):
        status, body = emulator.http("PATCH", CM + "/a", body, ctype)
        assert status == 409 and body["reason"] == "Conflict", ctype
    assert emulator.http("GET", CM + "/a")[1]["data"]["k"] == "1"


def test_strategic_merge_patch_semantics(emulator, ns):
    manifest = deployment("web")
    pod_spec = manifest["spec"]["template"]["spec"]
    pod_spec["containers"][0].update(args=["--a", "--b"], volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}])
    pod_spec["containers"].append({"name": "sidecar", "image": "envoy:1.30", "ports": [{"containerPort": 9901}]})
    pod_spec["volumes"] = [{"name": "cfg", "configMap": {"name": "cfg"}}]
    pod_spec["imagePullSecrets"] = [{"name": "ecr"}]
    pod_spec["tolerations"] = [{"key": "a", "operator": "Exists"}]
    emulator.http("POST", DEP, manifest)
    patch = {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "registry.local/loyalty/app:2.0.0", "args": ["--c"],
                        "env": [{"name": "JAVA_OPTS", "value": "-Xmx512m"}],
                        "ports": [{"containerPort": 8081, "name": "mgmt"}],
                        "volumeMounts": [{"mountPath": "/data", "name": "data"}]}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "dockerhub"}],
        "tolerations": [{"key": "b", "operator": "Exists"}],
    }}}}
    status, patched = emulator.http("PATCH", DEP + "/web", patch, SMP)
    assert status == 200
    spec = patched["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    assert set(containers) == {"app", "sidecar"} and containers["sidecar"]["image"] == "envoy:1.30"
    app = containers["app"]
    assert app["image"].endswith(":2.0.0")
    assert app["args"] == ["--c"]  # lists of scalars are replaced
    assert [e["name"] for e in app["env"]] == ["SPRING_PROFILES_ACTIVE", "JAVA_OPTS"]  # env merged by name
    assert [p["containerPort"] for p in app["ports"]] == [8080, 8081] and app["ports"][1]["protocol"] == "TCP"
    assert [m["mountPath"] for m in app["volumeMounts"]] == ["/cfg", "/data"]
    assert [v["name"] for v in spec["volumes"]] == ["cfg", "data"]
    assert [s["name"] for s in spec["imagePullSecrets"]] == ["ecr", "dockerhub"]
    assert spec["tolerations"] == [{"key": "b", "operator": "Exists"}]  # tolerations have no merge key: replaced
    directives = {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"},
                       {"name": "app", "env": [{"name": "JAVA_OPTS", "$patch": "delete"}], "$setElementOrder/env": [{"name": "SPRING_PROFILES_ACTIVE"}]}],
        "$setElementOrder/containers": [{"name": "app"}],
        "securityContext": {"$patch": "replace", "runAsNonRoot": True},
    }}, "strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    status, patched = emulator.http("PATCH", DEP + "/web", directives, SMP)
    assert status == 200, patched
    spec = patched["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["app"]
    assert [e["name"] for e in spec["containers"][0]["env"]] == ["SPRING_PROFILES_ACTIVE"]
    assert spec["securityContext"] == {"runAsNonRoot": True}
    assert patched["spec"]["strategy"] == {"type": "Recreate"}
    # Service ports merge by port; null removes a key.
    emulator.http("POST", SVC, {"metadata": {"name": "web", "annotations": {"a": "1"}},
                                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    svc = emulator.body("PATCH", SVC + "/web", {"metadata": {"annotations": {"a": None}},
                                                "spec": {"ports": [{"name": "mgmt", "port": 8081}, {"port": 80, "targetPort": 9090}]}}, SMP)
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 9090), (8081, 8081)]
    assert svc["metadata"].get("annotations") in (None, {})


def test_merge_patch_replaces_lists(emulator, ns):
    manifest = deployment("web")
    manifest["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1.30"})
    emulator.http("POST", DEP, manifest)
    patch = {"metadata": {"labels": {"app": None, "team": "x"}},
             "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.local/loyalty/app:3.0.0"}]}}}}
    status, patched = emulator.http("PATCH", DEP + "/web", patch, MERGE)
    assert status == 200
    assert [c["name"] for c in patched["spec"]["template"]["spec"]["containers"]] == ["app"]
    assert "ports" not in patched["spec"]["template"]["spec"]["containers"][0]
    assert patched["metadata"]["labels"] == {"team": "x"}


def test_json_patch_and_failed_test_operation(emulator, ns):
    created = emulator.body("POST", CM, configmap("a", data={"k": "v", "gone": "x"}))
    ops = [{"op": "test", "path": "/data/k", "value": "v"}, {"op": "add", "path": "/data/new", "value": "1"},
           {"op": "remove", "path": "/data/gone"}, {"op": "replace", "path": "/data/k", "value": "w"}]
    status, patched = emulator.http("PATCH", CM + "/a", ops, JSONP)
    assert status == 200 and patched["data"] == {"k": "w", "new": "1"}
    rv = patched["metadata"]["resourceVersion"]
    status, failed = emulator.http("PATCH", CM + "/a", [{"op": "test", "path": "/data/k", "value": "v"},
                                                        {"op": "replace", "path": "/data/k", "value": "z"}], JSONP)
    assert status == 422 and failed["reason"] == "Invalid"
    after = emulator.http("GET", CM + "/a")[1]
    assert after["data"]["k"] == "w" and after["metadata"]["resourceVersion"] == rv
    assert emulator.http("PATCH", CM + "/a", {"not": "a list"}, JSONP)[0] == 400
    assert created["metadata"]["uid"] == after["metadata"]["uid"]


def test_server_side_apply(emulator, ns):
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels: {a: '1'}\ndata:\n  k: v\n"
    status, body = emulator.http("PATCH", CM + "/applied", manifest, APPLY)
    assert status == 400 and "fieldManager" in body["message"]
    status, created = emulator.http("PATCH", CM + "/applied?fieldManager=test", manifest, APPLY)
    assert status == 201 and created["data"] == {"k": "v"}
    status, merged = emulator.http("PATCH", CM + "/applied?fieldManager=test&force=true", manifest.replace("k: v", "k2: w"), APPLY)
    assert status == 200 and merged["data"] == {"k": "v", "k2": "w"}
    status, again = emulator.http("PATCH", CM + "/applied?fieldManager=test", manifest.replace("k: v", "k2: w"), APPLY)
    assert again["metadata"]["resourceVersion"] == merged["metadata"]["resourceVersion"]


def test_custom_resources_reject_strategic_merge(emulator, ns):
    path = "/apis/monitoring.coreos.com/v1/namespaces/emu/servicemonitors"
    smon = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http", "path": "/actuator/prometheus"}]}}
    assert emulator.http("POST", path, smon)[0] == 201
    status, body = emulator.http("PATCH", path + "/web", {"spec": {"endpoints": [{"port": "mgmt"}]}}, SMP)
    assert status == 415 and body["reason"] == "UnsupportedMediaType" and "application/merge-patch+json" in body["message"]
    status, patched = emulator.http("PATCH", path + "/web", {"spec": {"endpoints": [{"port": "mgmt"}]}}, MERGE)
    assert status == 200 and patched["spec"]["endpoints"] == [{"port": "mgmt"}] and patched["metadata"]["generation"] == 2
    status, body = emulator.http("PATCH", path + "/web", {"spec": {}}, "application/xml")
    assert status == 415


def test_delete_preconditions_and_responses(emulator, ns):
    created = emulator.body("POST", CM, configmap("a"))
    md = created["metadata"]
    status, body = emulator.http("DELETE", CM + "/a", {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "0000"}})
    assert status == 409 and body["reason"] == "Conflict" and "Precondition failed: UID in precondition" in body["message"]
    status, body = emulator.http("DELETE", CM + "/a", {"preconditions": {"resourceVersion": "1"}})
    assert status == 409 and "ResourceVersion in precondition" in body["message"]
    assert emulator.http("GET", CM + "/a")[0] == 200
    status, body = emulator.http("DELETE", CM + "/a", {"preconditions": {"uid": md["uid"], "resourceVersion": md["resourceVersion"]},
                                                       "propagationPolicy": "Foreground"})
    assert status == 200 and body["kind"] == "Status" and body["status"] == "Success" and body["details"]["uid"] == md["uid"]
    assert emulator.http("GET", CM + "/a")[0] == 404
    assert emulator.http("DELETE", CM + "/a")[0] == 404
    emulator.http("POST", SVC, service("web", {"app": "web"}))
    status, body = emulator.http("DELETE", SVC + "/web")
    assert status == 200 and body["kind"] == "Service"  # services, pods and namespaces answer with the object
    assert emulator.http("DELETE", CM + "/x", {"propagationPolicy": "Sometimes"})[0] == 404


def test_finalizers_delay_deletion(emulator, ns):
    emulator.http("POST", CM, {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}, "data": {}})
    status, body = emulator.http("DELETE", CM + "/f")
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    assert emulator.http("GET", CM + "/f")[1]["metadata"]["deletionTimestamp"]
    emulator.http("PATCH", CM + "/f", {"metadata": {"finalizers": None}}, MERGE)
    assert emulator.http("GET", CM + "/f")[0] == 404


def test_deletecollection_with_label_selector(emulator, ns):
    for name, tier in (("a", "x"), ("b", "x"), ("c", "y")):
        emulator.http("POST", CM, configmap(name, {"tier": tier}))
    status, body = emulator.http("DELETE", CM + "?labelSelector=tier%3Dx")
    assert status == 200 and body["kind"] == "ConfigMapList" and sorted(i["metadata"]["name"] for i in body["items"]) == ["a", "b"]
    assert [i["metadata"]["name"] for i in emulator.http("GET", CM)[1]["items"]] == ["c", "kube-root-ca.crt"]


def test_dry_run_stores_nothing(emulator, ns):
    before = emulator.body("GET", CM)
    rv = before["metadata"]["resourceVersion"]
    status, would = emulator.http("POST", CM + "?dryRun=All", configmap("dry"))
    assert status == 201 and would["metadata"]["name"] == "dry" and would["metadata"]["uid"]
    assert emulator.http("GET", CM + "/dry")[0] == 404
    real = emulator.body("POST", CM, configmap("real"))
    rv = real["metadata"]["resourceVersion"]
    for method, body, ctype in (("PUT", dict(real, data={"k": "put"}), "application/json"),
                                ("PATCH", {"data": {"k": "patch"}}, MERGE),
                                ("PATCH", {"data": {"k": "smp"}}, SMP),
                                ("PATCH", [{"op": "replace", "path": "/data/k", "value": "json"}], JSONP)):
        status, would = emulator.http(method, CM + "/real?dryRun=All", body, ctype)
        assert status == 200 and would["data"]["k"] != "v", method
    status, would = emulator.http("DELETE", CM + "/real?dryRun=All")
    assert status == 200
    after = emulator.http("GET", CM + "/real")[1]
    assert after["data"] == {"k": "v"} and after["metadata"]["resourceVersion"] == rv
    assert emulator.http("GET", CM)[1]["metadata"]["resourceVersion"] == rv
    assert emulator.http("GET", CM + "?dryRun=Some")[0] == 400


def test_validation_errors(emulator, ns):
    status, body = emulator.http("POST", CM, configmap("Bad_Name"))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    status, body = emulator.http("POST", CM, {"metadata": {}, "data": {}})
    assert status == 422 and "metadata.name: Required value" in body["message"]
    status, body = emulator.http("POST", CM, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = emulator.http("POST", DEP, dict(configmap("x"), apiVersion="v1"))
    assert status == 400 and "does not match the expected API version (apps/v1)" in body["message"]
    status, body = emulator.http("POST", "/api/v1/namespaces/missing/configmaps", configmap("x"))
    assert status == 404 and body["message"] == 'namespaces "missing" not found' and body["details"]["kind"] == "namespaces"
    bad = deployment("web")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    status, body = emulator.http("POST", DEP, bad)
    assert status == 422 and "spec.template.metadata.labels" in body["message"] and "`selector` does not match template `labels`" in body["message"]
    status, body = emulator.http("POST", DEP, dict(deployment("web"), metadata={"name": "web", "labels": {"bad key!": "x"}}))
    assert status == 422 and "metadata.labels" in body["message"]
    emulator.http("POST", DEP, deployment("web"))
    status, body = emulator.http("PATCH", DEP + "/web", {"spec": {"selector": {"matchLabels": {"app": "web", "v": "2"}},
                                                                  "template": {"metadata": {"labels": {"v": "2"}}}}}, SMP)
    assert status == 422 and "spec.selector" in body["message"] and "field is immutable" in body["message"]
    svc = emulator.body("POST", SVC, service("web", {"app": "web"}))
    status, body = emulator.http("PATCH", SVC + "/web", {"spec": {"clusterIP": "10.96.99.99"}}, MERGE)
    assert status == 422 and body["message"].startswith('Service "web" is invalid: spec.clusterIP') and "field is immutable" in body["message"]
    assert emulator.http("GET", SVC + "/web")[1]["spec"]["clusterIP"] == svc["spec"]["clusterIP"]
    two_ports = {"metadata": {"name": "two"}, "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}, {"port": 81}]}}
    status, body = emulator.http("POST", SVC, two_ports)
    assert status == 422 and "spec.ports[0].name: Required value" in body["message"]


def test_defaults(emulator, ns):
    names = emulator.body("GET", "/api/v1/namespaces")
    assert {"default", "kube-system", "kube-public"} <= {i["metadata"]["name"] for i in names["items"]}
    namespace = emulator.http("GET", "/api/v1/namespaces/emu")[1]
    assert namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] == "emu" and namespace["status"]["phase"] == "Active"
    assert emulator.http("GET", "/api/v1/namespaces/emu/serviceaccounts/default")[0] == 200
    svc = emulator.body("POST", SVC, {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["clusterIP"].startswith("10.96.") and spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["sessionAffinity"] == "None" and spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    # A merge patch that replaces the ports list does not lose allocated values.
    svc2 = emulator.body("POST", SVC, {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80}]}})
    node_port = svc2["spec"]["ports"][0]["nodePort"]
    again = emulator.body("PATCH", SVC + "/np", {"spec": {"ports": [{"port": 80}]}}, MERGE)
    assert again["spec"]["ports"][0]["nodePort"] == node_port and again["metadata"]["resourceVersion"] == svc2["metadata"]["resourceVersion"]
    dep = emulator.body("POST", DEP, {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}})
    spec = dep["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    container = spec["template"]["spec"]["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP" and container["imagePullPolicy"] == "Always"
    assert spec["template"]["spec"]["restartPolicy"] == "Always" and dep["status"] == {}
    secret_body = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}, "data": {"user": base64.b64encode(b"app").decode()}}
    secret = emulator.body("POST", "/api/v1/namespaces/emu/secrets", secret_body)
    assert "stringData" not in secret and secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2" and base64.b64decode(secret["data"]["user"]) == b"app"


def test_status_subresource(emulator, ns, apps):
    emulator.http("POST", DEP, deployment("web", replicas=0))
    current = emulator.body("GET", DEP + "/web")
    # Writes to the main resource ignore .status.
    code, put = emulator.http("PUT", DEP + "/web", dict(current, status={"replicas": 99}))
    assert code == 200 and isinstance(put, dict), (code, put)
    assert put.get("status", {}).get("replicas") != 99
    # Writes to /status change only .status (the deployment controller keeps collisionCount).
    status_patch = emulator.body("PATCH", DEP + "/web/status", {"status": {"collisionCount": 7}, "spec": {"replicas": 5}}, MERGE)
    assert status_patch["status"]["collisionCount"] == 7 and status_patch["spec"]["replicas"] == 0
    assert apps.read_namespaced_deployment_status("web", "emu").status.collision_count == 7
    # A kind whose status no controller rewrites here: CronJob.
    path = "/apis/batch/v1/namespaces/emu/cronjobs"
    cronjob = {"metadata": {"name": "nightly"}, "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "backup", "image": "backup:1"}]}}}}}, "status": {"lastScheduleTime": "2024-01-01T00:00:00Z"}}
    status, created = emulator.http("POST", path, cronjob)
    assert status == 201 and "lastScheduleTime" not in created.get("status", {})  # status is dropped on create
    full = emulator.http("GET", path + "/nightly/status")[1]
    assert full["kind"] == "CronJob"
    full["status"] = {"lastScheduleTime": "2024-01-02T03:00:00Z"}
    full["metadata"]["labels"] = {"ignored": "yes"}
    full["spec"]["schedule"] = "* * * * *"
    status, replaced = emulator.http("PUT", path + "/nightly/status", full)
    assert status == 200 and replaced["status"]["lastScheduleTime"] == "2024-01-02T03:00:00Z"
    assert "labels" not in replaced["metadata"] and replaced["spec"]["schedule"] == "0 3 * * *"
    assert replaced["metadata"]["generation"] == 1
    main_put = emulator.body("PATCH", path + "/nightly", {"status": {"lastScheduleTime": None}, "spec": {"suspend": True}}, MERGE)
    assert main_put["status"]["lastScheduleTime"] == "2024-01-02T03:00:00Z" and main_put["spec"]["suspend"] is True
    assert emulator.http("GET", CM + "/x/status")[0] == 404


def test_scale_subresource(emulator, ns, apps):
    emulator.http("POST", DEP, deployment("web", replicas=1))
    status, scale = emulator.http("GET", DEP + "/web/scale")
    assert status == 200 and scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "app=web"
    stale = dict(scale, spec={"replicas": 5})
    emulator.http("PATCH", DEP + "/web", {"metadata": {"labels": {"bump": "1"}}}, MERGE)
    status, body = emulator.http("PUT", DEP + "/web/scale", stale)
    assert status == 409 and body["reason"] == "Conflict"
    status, put = emulator.http("PUT", DEP + "/web/scale", {"spec": {"replicas": 3}})
    assert status == 200 and put["spec"]["replicas"] == 3
    dep = emulator.http("GET", DEP + "/web")[1]
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 2
    apps.patch_namespaced_deployment_scale("web", "emu", {"spec": {"replicas": 2}})
    assert apps.read_namespaced_deployment("web", "emu").spec.replicas == 2
    emulator.wait_for(lambda: apps.read_namespaced_deployment_scale("web", "emu").status.replicas == 2, message="scale status")
    status, body = emulator.http("PUT", DEP + "/web/scale", {"spec": {"replicas": -1}})
    assert status == 422 and body["message"].startswith('Scale.autoscaling "web" is invalid: spec.replicas')


def test_typed_clients_and_leases(ns, coordination, core):
    from kubernetes import client
    lease = client.V1Lease(metadata=client.V1ObjectMeta(name="bluegreen-switch"),
                           spec=client.V1LeaseSpec(holder_identity="runner-1", lease_duration_seconds=30, lease_transitions=0))
    created = coordination.create_namespaced_lease("emu", lease)
    assert created.spec.holder_identity == "runner-1"
    created.spec.holder_identity = "runner-2"
    updated = coordination.replace_namespaced_lease("bluegreen-switch", "emu", created)
    assert updated.spec.holder_identity == "runner-2"
    created.spec.holder_identity = "runner-3"
    with pytest.raises(ApiException) as err:
        coordination.replace_namespaced_lease("bluegreen-switch", "emu", created)  # stale resourceVersion
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    with pytest.raises(ApiException) as err:
        coordination.create_namespaced_lease("emu", lease)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "AlreadyExists"
    event = client.CoreV1Event(metadata=client.V1ObjectMeta(generate_name="switch-"), reason="Switched", message="blue -> green",
                               type="Normal", involved_object=client.V1ObjectReference(kind="Service", name="web", namespace="emu"))
    made = core.create_namespaced_event("emu", event)
    assert made.metadata.name.startswith("switch-")
    assert core.list_namespaced_event("emu", field_selector="involvedObject.name=web").items[0].reason == "Switched"
    event.involved_object.namespace = "elsewhere"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_event("emu", event)
    assert err.value.status == 422 and "involvedObject.namespace" in err.value.body


def test_events_v1_validation(emulator, ns):
    path = "/apis/events.k8s.io/v1/namespaces/emu/events"
    status, body = emulator.http("POST", path, {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"}, "note": "x"})
    assert status == 422
    for field in ("eventTime", "reportingController", "reportingInstance", "action", "reason", "type"):
        assert field in body["message"]
    event = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"}, "eventTime": "2024-05-01T10:00:00.000000Z",
             "reportingController": "loyalty.platform/k8s_bluegreen", "reportingInstance": "runner-1", "action": "Switch", "reason": "Switched",
             "type": "Normal", "note": "blue -> green", "regarding": {"kind": "Service", "name": "web", "namespace": "emu"}}
    status, created = emulator.http("POST", path, event)
    assert status == 201 and created["note"] == "blue -> green"


def test_put_with_wrong_uid_conflicts(emulator, ns):
    created = emulator.body("POST", CM, configmap("a"))
    stale = dict(created, metadata=dict(created["metadata"], uid="00000000-0000-0000-0000-000000000000"))
    status, body = emulator.http("PUT", CM + "/a", stale)
    assert status == 409 and "Precondition failed: UID in precondition" in body["message"]


def test_dynamic_client_conflict_and_patch(dyn, ns):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    created = cms.create(namespace="emu", body=configmap("d"))
    patched = cms.patch(namespace="emu", name="d", body={"data": {"k": "2"}})
    assert patched.data.k == "2" and patched.metadata.resourceVersion != created.metadata.resourceVersion
    with pytest.raises(ConflictError):
        cms.replace(namespace="emu", body=created.to_dict())


def test_watch_streams_events(emulator, ns, dyn):
    from kubernetes import watch
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    start_rv = cms.get(namespace="emu").metadata.resourceVersion
    seen = []

    def consume():
        watcher = watch.Watch()
        for event in cms.watch(namespace="emu", resource_version=start_rv, timeout=3, watcher=watcher):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                watcher.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    emulator.http("POST", CM, configmap("w"))
    emulator.http("PATCH", CM + "/w", {"data": {"k": "2"}}, MERGE)
    emulator.http("DELETE", CM + "/w")
    thread.join(timeout=10)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    status, text = emulator.http("GET", CM + "?watch=true&timeoutSeconds=1")
    lines = [json.loads(line) for line in text.splitlines()] if isinstance(text, str) else [text]
    assert status == 200 and lines[0]["type"] == "ADDED" and lines[0]["object"]["kind"] == "ConfigMap"


def test_watch_errors(emulator, ns):
    # A resourceVersion from before the last reset (the event log floor) is gone: 410 Expired inside the stream.
    status, text = emulator.http("GET", CM + "?watch=1&resourceVersion=1&timeoutSeconds=1")
    event = json.loads(text.splitlines()[0]) if isinstance(text, str) else text
    assert status == 200 and event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert emulator.http("GET", CM + "?watch=1&resourceVersion=abc")[0] == 400
    assert emulator.http("GET", CM + "?watch=1&labelSelector=%3D%3D")[0] == 400


def test_service_type_change_drops_node_ports(emulator, ns):
    spec = {"type": "LoadBalancer", "selector": {"a": "b"}, "ports": [{"name": "http", "port": 80}]}
    created = emulator.body("POST", SVC, {"metadata": {"name": "lb"}, "spec": spec})
    assert created["spec"]["ports"][0]["nodePort"] >= 30000 and created["spec"]["externalTrafficPolicy"] == "Cluster"
    emulator.wait_for(lambda: emulator.body("GET", SVC + "/lb")["status"]["loadBalancer"].get("ingress"), message="lb hostname")
    patched = emulator.body("PATCH", SVC + "/lb", {"spec": {"type": "ClusterIP"}}, SMP)
    assert "nodePort" not in patched["spec"]["ports"][0] and "externalTrafficPolicy" not in patched["spec"]
    assert patched["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    emulator.wait_for(lambda: emulator.body("GET", SVC + "/lb")["status"] == {"loadBalancer": {}}, message="lb status cleared")
