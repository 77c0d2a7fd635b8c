"""Integration tests of playbooks/apps.yml (role loyalty.platform.eks_apps) against the sandbox's Kubernetes control plane.

Every test works in its own namespace (the `namespace` fixture) and reads the effect back through the
real API (`kube_client`) and the fault proxy's request counters, never through the playbook's own output,
except where the output itself is the subject (messages, diffs, secrets that must not appear).
The fault proxy's request counters are global: these tests need the sandbox to themselves, as
`make integration` runs them (another client's writes during a run would count as ours).
"""

import base64
import hashlib
import json
import time
import urllib.parse
import uuid

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_changes import secret_hash

PLAYBOOK = "playbooks/apps.yml"
INVENTORY = "inventories/local"
SERVICES = ["user-service", "point-service", "rewards-service", "admin-service"]
KINDS = [
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
]
# Objects the role owns per service (9) and per color (3 of them).
PER_SERVICE = 9


@pytest.fixture
def apps(run_playbook, namespace):
    """Run playbooks/apps.yml against inventories/local in the test's namespace."""

    def _run(check=False, diff=False, args=(), env=None, **extra_vars):
        extra_vars.setdefault("eks_apps_namespace", namespace)
        return run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra_vars, check=check, diff=diff, args=args, env=env)

    return _run


def listing(kube_client, namespace, role_only=True):
    """Objects of the role's kinds in the namespace: {(kind, name): what a client wrote}.

    What a client wrote is everything but the status and the server's metadata: the controllers keep
    updating the status of Deployments, HPAs and PDBs, which moves resourceVersion without any write
    of ours (the fault proxy's write counter shows those).
    role_only: just the role's objects (they all carry the `app` label), not the namespace's
    default ServiceAccount and CA ConfigMap."""
    found = {}
    for api_version, kind in KINDS:
        api = kube_client.resources.get(api_version=api_version, kind=kind)
        for item in api.get(namespace=namespace, label_selector="app" if role_only else None).items:
            body = item.to_dict()
            written = {key: value for key, value in body.items() if key not in ("metadata", "status")}
            written["metadata"] = {key: body["metadata"].get(key) for key in ("labels", "annotations", "generation")}
            found[(kind, item.metadata.name)] = json.dumps(written, sort_keys=True)
    return found


def get(kube_client, api_version, kind, namespace, name):
    return kube_client.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace)


def namespace_labels(kube_client, namespace):
    return dict(get(kube_client, "v1", "Namespace", None, namespace).metadata.labels or {})


def task_results(result, suffix):
    """Results of the tasks whose name ends with `suffix` (role tasks carry the role name as a prefix)."""
    found = []
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"].endswith(suffix) and "localhost" in task["hosts"]:
                found.append(task["hosts"]["localhost"])
    assert found, "no task named ...%r ran:\n%s\n%s" % (suffix, result.stdout[-3000:], result.stderr[-2000:])
    return found


def failure_message(result):
    """The messages of the task that failed the run (its own and its loop items')."""
    for play in result.data.get("plays", []):
        for task in play.get("tasks", []):
            host = task["hosts"].get("localhost", {})
            if host.get("failed"):
                return "\n".join([host.get("msg", "")] + [item.get("msg", "") for item in host.get("results", [])])
    return ""


def assert_ok(result):
    assert result.rc == 0, "playbook failed:\n%s\n%s" % (result.stdout[-6000:], result.stderr[-3000:])


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def test_first_run_creates_every_object_and_the_second_changes_nothing(apps, kube_client, namespace, kube_sandbox):
    first = apps()
    assert_ok(first)
    assert first.changed() > 0
    objects = listing(kube_client, namespace)
    for service in SERVICES:
        for kind, name in [("ServiceAccount", service), ("ConfigMap", service + "-blue-config"), ("Secret", service + "-secrets"),
                           ("Service", service), ("Deployment", service + "-blue"), ("HorizontalPodAutoscaler", service + "-blue"),
                           ("PodDisruptionBudget", service + "-blue"), ("NetworkPolicy", service), ("Ingress", service)]:
            assert (kind, name) in objects, "%s %s was not created" % (kind, name)
    labels = namespace_labels(kube_client, namespace)
    assert {labels.get("pod-security.kubernetes.io/" + mode) for mode in ("enforce", "audit", "warn")} == {"restricted"}

    before = kube_sandbox.stats()
    second = apps()
    after = kube_sandbox.stats()
    assert_ok(second)
    assert second.changed() == 0
    # Nothing changed at the API either: every object keeps what a client wrote.
    assert listing(kube_client, namespace) == objects
    assert after["by_verb"]["create"] == before["by_verb"]["create"]
    assert after["by_verb"]["delete"] == before["by_verb"]["delete"]
    # Only what differs is sent: a run with nothing to change writes nothing, not even a no-op PATCH.
    assert after["writes"] == before["writes"]


def test_check_mode_on_an_empty_namespace_changes_nothing(apps, kube_client, namespace, kube_sandbox):
    labels_before = namespace_labels(kube_client, namespace)
    objects_before = listing(kube_client, namespace, role_only=False)
    before = kube_sandbox.stats()
    result = apps(check=True, diff=True)
    after = kube_sandbox.stats()
    assert_ok(result)
    assert result.changed() > 0, "check mode must report what it would create"
    assert listing(kube_client, namespace, role_only=False) == objects_before
    assert listing(kube_client, namespace) == {}
    assert namespace_labels(kube_client, namespace) == labels_before
    # Every write request check mode sent was a server-side dry run (server-side apply: a PATCH per object).
    assert delta(before["by_verb"], after["by_verb"], "patch") > 0
    assert after["writes"] - before["writes"] <= after["dry_run"] - before["dry_run"]


def test_check_mode_after_a_change_shows_the_diff_and_leaves_the_cluster_alone(apps, kube_client, namespace, kube_sandbox):
    assert_ok(apps())
    objects = listing(kube_client, namespace)
    before = kube_sandbox.stats()
    result = apps(check=True, diff=True, eks_apps_image_tag="9.9.9")
    after = kube_sandbox.stats()
    assert_ok(result)
    assert result.changed() > 0
    assert listing(kube_client, namespace) == objects
    image = get(kube_client, "apps/v1", "Deployment", namespace, "user-service-blue").spec.template.spec.containers[0].image
    assert image.endswith(":1.0.0")
    assert after["writes"] - before["writes"] <= after["dry_run"] - before["dry_run"]
    shown = task_results(result, "Apply | what changed, object by object")[-1]["msg"]
    key = "Deployment %s/user-service-blue" % namespace
    assert key in shown
    assert shown[key]["before"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")
    assert shown[key]["after"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":9.9.9")


def test_absent_removes_one_service_and_a_dropped_service_stays(apps, kube_client, namespace):
    assert_ok(apps())
    assert_ok(apps(eks_apps_color="green", eks_apps_services=[{"name": "point-service"}]))
    assert ("Deployment", "point-service-green") in listing(kube_client, namespace)

    # admin-service is no longer listed: left alone. point-service is absent: all its objects go, both colors.
    result = apps(eks_apps_services=[{"name": "user-service"}, {"name": "rewards-service"}, {"name": "point-service", "state": "absent"}])
    assert_ok(result)
    objects = listing(kube_client, namespace)
    assert not [key for key in objects if key[1].startswith("point-service")], objects
    for service in ("user-service", "rewards-service", "admin-service"):
        assert len([key for key in objects if key[1].startswith(service)]) == PER_SERVICE, service

    again = apps(eks_apps_services=[{"name": "user-service"}, {"name": "rewards-service"}, {"name": "point-service", "state": "absent"}])
    assert_ok(again)
    assert again.changed() == 0

    # A run of removals alone deletes, then changes nothing, and never writes the namespace.
    namespace_version = get(kube_client, "v1", "Namespace", None, namespace).metadata.resourceVersion
    only_absent = [{"name": "rewards-service", "state": "absent"}]
    first, second = apps(eks_apps_services=only_absent), apps(eks_apps_services=only_absent)
    assert_ok(first)
    assert_ok(second)
    assert first.changed() == 1 and second.changed() == 0
    objects = listing(kube_client, namespace)
    assert not [key for key in objects if key[1].startswith("rewards-service")], objects
    assert len([key for key in objects if key[1].startswith("user-service")]) == PER_SERVICE
    assert get(kube_client, "v1", "Namespace", None, namespace).metadata.resourceVersion == namespace_version


def test_an_empty_service_list_touches_nothing(apps, kube_client, namespace, kube_sandbox):
    missing = namespace + "-none"
    before = kube_sandbox.stats()
    result = apps(eks_apps_namespace=missing, eks_apps_services=[])
    after = kube_sandbox.stats()
    assert_ok(result)
    assert result.changed() == 0
    assert after["writes"] == before["writes"]
    names = [item.metadata.name for item in kube_client.resources.get(api_version="v1", kind="Namespace").get().items]
    assert namespace in names and missing not in names


SELECTOR_MANAGER = "loyalty-platform-bluegreen"  # the blue/green switch's field manager
ROLE_MANAGER = "loyalty-platform-eks-apps"


def repoint(kube_client, namespace, service, color, field_manager=SELECTOR_MANAGER):
    """What the blue/green switch does: a merge patch of the Service's color, as its field manager."""
    kube_client.resources.get(api_version="v1", kind="Service").patch(
        name=service, namespace=namespace, body={"spec": {"selector": {"color": color}}},
        content_type="application/merge-patch+json", field_manager=field_manager)


def color_owners(service):
    """The field managers that own the Service's spec.selector (one atomic field), and those that own its ports."""
    owners = {"color": set(), "ports": set()}
    for entry in service.to_dict()["metadata"].get("managedFields") or []:
        fields = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if "f:selector" in fields:
            owners["color"].add(entry["manager"])
        if "f:ports" in fields:
            owners["ports"].add(entry["manager"])
    return owners


def selectors(kube_client, namespace):
    services = kube_client.resources.get(api_version="v1", kind="Service").get(namespace=namespace).items
    return {item.metadata.name: dict(item.spec.selector) for item in services}


def test_the_service_follows_the_template_and_keeps_the_color_the_switch_chose(apps, kube_client, namespace):
    """The role applies each Service by server-side apply without its color; the color is the switch's by field ownership."""
    assert_ok(apps())
    repoint(kube_client, namespace, "user-service", "green")  # switched
    repoint(kube_client, namespace, "point-service", "green", field_manager="kubectl-edit")  # put right by hand
    # rewards-service and admin-service were never switched: the role's create is the only owner of their color.
    result = apps(eks_apps_color="green", eks_apps_service_port=8081)
    assert_ok(result)
    assert result.changed() > 0
    assert selectors(kube_client, namespace) == {
        "user-service": {"app": "user-service", "color": "green"},
        "point-service": {"app": "point-service", "color": "green"},
        "rewards-service": {"app": "rewards-service", "color": "blue"},
        "admin-service": {"app": "admin-service", "color": "blue"},
    }
    for service in SERVICES:
        live = get(kube_client, "v1", "Service", namespace, service)
        assert [port.port for port in live.spec.ports] == [8081], service
        owners = color_owners(live)
        assert ROLE_MANAGER not in owners["color"] and owners["color"], (service, owners)
        assert owners["ports"] == {ROLE_MANAGER}, (service, owners)
        if service != "point-service":
            assert owners["color"] == {SELECTOR_MANAGER}, (service, owners)
    again = apps(eks_apps_color="green", eks_apps_service_port=8081)
    assert_ok(again)
    assert again.changed() == 0
    # Neither color's run re-points anything.
    assert_ok(apps(eks_apps_color="blue", eks_apps_service_port=8081))
    assert selectors(kube_client, namespace)["user-service"] == {"app": "user-service", "color": "green"}
    deployments = {key[1] for key in listing(kube_client, namespace) if key[0] == "Deployment"}
    assert deployments == {service + "-" + color for service in SERVICES for color in ("blue", "green")}


def test_check_mode_leaves_the_services_and_their_owners_alone(apps, kube_client, namespace, kube_sandbox):
    assert_ok(apps())
    before = {service: get(kube_client, "v1", "Service", namespace, service).to_dict() for service in SERVICES}
    stats = kube_sandbox.stats()
    result = apps(check=True, eks_apps_service_port=8081)
    after = kube_sandbox.stats()
    assert_ok(result)
    assert result.changed() > 0
    # The selector claim and the apply of each Service were sent, both as server-side dry runs.
    assert after["dry_run"] - stats["dry_run"] >= 2 * len(SERVICES)
    assert after["writes"] - stats["writes"] <= after["dry_run"] - stats["dry_run"]
    assert {service: get(kube_client, "v1", "Service", namespace, service).to_dict() for service in SERVICES} == before


def test_a_service_an_earlier_release_applied_with_its_color_keeps_it(apps, kube_client, namespace):
    """Earlier releases applied each Service with its color as the role's own field manager (the only owner of it):
    the first apply without the color must not drop it."""
    assert_ok(apps(eks_apps_services=[]))
    services = kube_client.resources.get(api_version="v1", kind="Service")
    for service, color in [("user-service", "green"), ("point-service", "blue")]:
        body = {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": service, "namespace": namespace,
                             "labels": {"app": service, "app.kubernetes.io/managed-by": "loyalty.platform.eks_apps"}},
                "spec": {"type": "ClusterIP", "selector": {"app": service, "color": color},
                         "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]}}
        services.server_side_apply(body=body, name=service, namespace=namespace, field_manager=ROLE_MANAGER, force_conflicts=True)
        assert color_owners(services.get(name=service, namespace=namespace))["color"] == {ROLE_MANAGER}
    assert_ok(apps(eks_apps_color="blue"))
    assert selectors(kube_client, namespace) == {
        "user-service": {"app": "user-service", "color": "green"},
        "point-service": {"app": "point-service", "color": "blue"},
        "rewards-service": {"app": "rewards-service", "color": "blue"},
        "admin-service": {"app": "admin-service", "color": "blue"},
    }
    for service in ("user-service", "point-service"):
        live = services.get(name=service, namespace=namespace)
        assert "loyalty.platform/applied-sha256" in dict(live.metadata.annotations), service
        assert color_owners(live)["color"] == {SELECTOR_MANAGER}, service


def test_a_service_someone_else_made_is_left_alone(apps, kube_client, namespace):
    assert_ok(apps(eks_apps_services=[]))
    services = kube_client.resources.get(api_version="v1", kind="Service")
    services.create(namespace=namespace, body={
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "admin-service", "namespace": namespace},
        "spec": {"selector": {"app": "admin-service", "tier": "legacy"}, "ports": [{"port": 9000, "targetPort": 9000}]}})
    before = services.get(name="admin-service", namespace=namespace).to_dict()
    # It selects no color, so the group has no color to follow: the run names one.
    assert_ok(apps(eks_apps_color="blue"))
    assert_ok(apps(eks_apps_color="blue", eks_apps_service_port=8081))
    after = services.get(name="admin-service", namespace=namespace).to_dict()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert selectors(kube_client, namespace)["user-service"] == {"app": "user-service", "color": "blue"}


def image_of(kube_client, namespace, deployment):
    return get(kube_client, "apps/v1", "Deployment", namespace, deployment).spec.template.spec.containers[0].image


def test_without_a_color_a_run_updates_the_live_color_and_leaves_the_idle_one(apps, kube_client, namespace):
    assert_ok(apps())
    assert_ok(apps(eks_apps_color="green"))
    for service in SERVICES:
        repoint(kube_client, namespace, service, "green")
    blue_before = {key: version for key, version in listing(kube_client, namespace).items() if "-blue" in key[1]}
    assert len(blue_before) == 4 * 4  # Deployment, HPA, PDB, ConfigMap per service

    result = apps(eks_apps_image_tag="2.0.0", eks_apps_log_levels={"com.loyalty": "TRACE"})
    assert_ok(result)
    assert result.changed() > 0
    for service in SERVICES:
        assert image_of(kube_client, namespace, service + "-green").endswith(":2.0.0")
        assert image_of(kube_client, namespace, service + "-blue").endswith(":1.0.0")
        config = get(kube_client, "v1", "ConfigMap", namespace, service + "-green-config").data["application.yml"]
        assert "com.loyalty: TRACE" in config
        assert "com.loyalty: TRACE" not in get(kube_client, "v1", "ConfigMap", namespace, service + "-blue-config").data["application.yml"]
    # The idle color was not touched at all: every blue object keeps what a client wrote.
    assert {key: version for key, version in listing(kube_client, namespace).items() if "-blue" in key[1]} == blue_before


def test_without_a_color_services_that_disagree_fail_before_any_write(apps, kube_client, namespace, kube_sandbox):
    assert_ok(apps())
    assert_ok(apps(eks_apps_color="green"))
    repoint(kube_client, namespace, "point-service", "green")
    objects = listing(kube_client, namespace)
    before = kube_sandbox.stats()
    result = apps(eks_apps_image_tag="2.0.0")
    after = kube_sandbox.stats()
    assert result.rc != 0
    message = failure_message(result)
    for service, color in [("user-service", "blue"), ("point-service", "green"), ("rewards-service", "blue"), ("admin-service", "blue")]:
        assert "%s selects %s" % (service, color) in message, message
    assert "eks_apps_color" in message and "repair=true" in message
    assert after["writes"] == before["writes"]
    assert listing(kube_client, namespace) == objects
    # An explicit color always wins.
    assert_ok(apps(eks_apps_color="blue", eks_apps_image_tag="2.0.0"))
    assert image_of(kube_client, namespace, "point-service-blue").endswith(":2.0.0")
    assert image_of(kube_client, namespace, "point-service-green").endswith(":1.0.0")


def test_a_new_color_s_configuration_does_not_reach_the_live_color(apps, kube_client, namespace):
    assert_ok(apps())
    blue = get(kube_client, "v1", "ConfigMap", namespace, "user-service-blue-config")
    assert dict(blue.metadata.labels)["color"] == "blue"
    assert_ok(apps(eks_apps_color="green", eks_apps_log_levels={"com.loyalty": "TRACE"}))
    green = get(kube_client, "v1", "ConfigMap", namespace, "user-service-green-config")
    assert dict(green.metadata.labels)["color"] == "green"
    assert "com.loyalty: TRACE" in green.data["application.yml"]
    assert get(kube_client, "v1", "ConfigMap", namespace, "user-service-blue-config").metadata.resourceVersion == blue.metadata.resourceVersion
    volumes = get(kube_client, "apps/v1", "Deployment", namespace, "user-service-green").spec.template.spec.volumes
    assert [volume.configMap.name for volume in volumes if volume.name == "config"] == ["user-service-green-config"]


def test_drift_is_put_right_by_the_next_run(apps, kube_client, namespace):
    assert_ok(apps())
    deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.patch(name="user-service-blue", namespace=namespace, content_type="application/merge-patch+json",
                      body={"spec": {"template": {"spec": {"containers": [{"name": "user-service", "image": "edited:by-hand"}]}}}})
    result = apps()
    assert_ok(result)
    assert result.changed() > 0
    assert image_of(kube_client, namespace, "user-service-blue").endswith(":1.0.0")


def test_the_hpa_decision_is_kept(apps, kube_client, namespace, kube_sandbox):
    assert_ok(apps())
    kube_sandbox.set_hpa(namespace, "user-service-blue", 2)
    result = apps()
    assert_ok(result)
    assert get(kube_client, "apps/v1", "Deployment", namespace, "user-service-blue").spec.replicas == 2


def test_only_the_role_s_own_objects_are_read(apps, kube_client, namespace, kube_sandbox):
    """Another application's Secret and ConfigMap in the namespace: the run lists every kind by the role's managed-by
    label (Services apart, whose names count whoever made them), so they are never read, and it leaves them alone."""
    assert_ok(apps())
    secrets = kube_client.resources.get(api_version="v1", kind="Secret")
    secrets.create(body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other-app-credentials", "namespace": namespace},
                         "stringData": {"token": "not-ours-" + uuid.uuid4().hex}})
    kube_client.resources.get(api_version="v1", kind="ConfigMap").create(body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-app", "namespace": namespace}, "data": {"a": "b"}})
    kube_sandbox.reset_stats()
    again = apps()
    assert_ok(again)
    assert again.changed() == 0
    lists = kube_sandbox.stats()["lists"]
    owned = "app.kubernetes.io/managed-by=loyalty.platform.eks_apps"
    assert lists.get("secrets " + owned) == 1 and lists.get("configmaps " + owned) == 1, lists
    unfiltered = sorted(key.split()[0] for key in lists if key.endswith("(all)"))
    assert unfiltered == ["services"], lists
    assert secrets.get(name="other-app-credentials", namespace=namespace).data["token"]


def test_secret_values_never_appear_in_the_output(apps, kube_client, namespace):
    token = uuid.uuid4().hex[:12]
    own = {"db_username": "pt-" + token, "db_password": "pt/pass+" + token, "jwt_secret": "ptjwt-" + token}
    secrets = {
        "vault_loyalty_db_username": "user-" + token,
        "vault_loyalty_db_password": "db/pass+" + token,
        "vault_loyalty_redis_password": "redis/pass+" + token,
        "vault_loyalty_jwt_secret": "jwt-" + token,
        "vault_loyalty_service_credentials": {"point-service": own},
    }
    forms = set()
    for value in [value for value in secrets.values() if isinstance(value, str)] + list(own.values()):
        forms.update({value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe="")})
    forms.add(token)

    runs = [
        apps(**secrets),
        apps(check=True, diff=True, eks_apps_image_tag="2.0.0", **dict(secrets, vault_loyalty_jwt_secret="jwt2-" + token)),
        apps(diff=True, args=("-vvv",), env={"ANSIBLE_STDOUT_CALLBACK": "default"}, **dict(secrets, vault_loyalty_jwt_secret="jwt3-" + token)),
        apps(diff=True, eks_apps_services=[{"name": "admin-service", "state": "absent"}], **secrets),
    ]
    for result in runs:
        assert_ok(result)
        for form in forms:
            assert form not in result.stdout and form not in result.stderr, "a secret value leaked into the output"

    # The values did reach the cluster (the test would prove nothing otherwise).
    data = get(kube_client, "v1", "Secret", namespace, "user-service-secrets").data
    assert base64.b64decode(data["database-password"]).decode() == secrets["vault_loyalty_db_password"]
    assert base64.b64decode(data["jwt-secret"]).decode() == "jwt3-" + token
    assert base64.b64decode(data["redis-url"]).decode() == "redis://:%s@127.0.0.1:6379" % urllib.parse.quote(
        secrets["vault_loyalty_redis_password"], safe="")
    point = get(kube_client, "v1", "Secret", namespace, "point-service-secrets").data
    assert base64.b64decode(point["database-password"]).decode() == own["db_password"]


SECRET_SHA = "loyalty.platform/secret-sha256"


def decoded(secret):
    return {key: base64.b64decode(value).decode() for key, value in dict(secret.data).items()}


def pod_template(kube_client, namespace, service):
    """The pod template of the service's blue Deployment and the Deployment's generation, as plain data."""
    deployment = get(kube_client, "apps/v1", "Deployment", namespace, service + "-blue").to_dict()
    return deployment["spec"]["template"], deployment["metadata"]["generation"]


def secret_sha(kube_client, namespace, service):
    return pod_template(kube_client, namespace, service)[0]["metadata"]["annotations"][SECRET_SHA]


def rolled_out(kube_client, namespace, service, digest, timeout=60):
    """The ReplicaSets and Pods the Deployment controller made from a pod template carrying `digest` (waits for both)."""
    replicasets = kube_client.resources.get(api_version="apps/v1", kind="ReplicaSet")
    pods = kube_client.resources.get(api_version="v1", kind="Pod")
    selector = "app=%s,color=blue" % service
    deadline = time.monotonic() + timeout
    while True:
        sets = [item.to_dict() for item in replicasets.get(namespace=namespace, label_selector=selector).items]
        sets = [rs["metadata"]["name"] for rs in sets if (rs["spec"]["template"]["metadata"].get("annotations") or {}).get(SECRET_SHA) == digest]
        made = [item.to_dict() for item in pods.get(namespace=namespace, label_selector=selector).items]
        made = [pod["metadata"]["name"] for pod in made if (pod["metadata"].get("annotations") or {}).get(SECRET_SHA) == digest]
        if sets and made:
            return set(sets), set(made)
        assert time.monotonic() < deadline, "no ReplicaSet and Pod of %s with the Secret hash %s after %d s" % (service, digest, timeout)
        time.sleep(0.5)


def test_a_rotated_vault_value_rolls_the_pods_and_a_run_without_change_leaves_them(apps, kube_client, namespace):
    assert_ok(apps())
    first = {service: secret_sha(kube_client, namespace, service) for service in SERVICES}
    for service in SERVICES:
        secret = get(kube_client, "v1", "Secret", namespace, service + "-secrets")
        assert first[service] == dict(secret.metadata.annotations)["loyalty.platform/secret-hash"] == secret_hash(dict(secret.data))
    first_sets, first_pods = rolled_out(kube_client, namespace, "user-service", first["user-service"])

    password = "rotated/" + uuid.uuid4().hex
    rotation = apps(vault_loyalty_db_password=password)
    assert_ok(rotation)
    assert rotation.changed() > 0
    secret = get(kube_client, "v1", "Secret", namespace, "user-service-secrets")
    assert decoded(secret)["database-password"] == password
    digest = secret_sha(kube_client, namespace, "user-service")
    assert digest != first["user-service"]
    assert digest == dict(secret.metadata.annotations)["loyalty.platform/secret-hash"] == secret_hash(dict(secret.data))
    # The hash of the whole data: not the value, nor a form of it, nor a hash of the value alone.
    encoded = base64.b64encode(password.encode()).decode()
    assert password not in digest and encoded not in digest
    assert digest not in {hashlib.sha256(form.encode()).hexdigest() for form in (password, encoded)}
    # The sandbox's services share the database password (inventories/local): every one rolls.
    assert all(secret_sha(kube_client, namespace, service) != first[service] for service in SERVICES)
    # A new ReplicaSet, and new pods with the new hash.
    sets, pods = rolled_out(kube_client, namespace, "user-service", digest)
    assert not sets & first_sets and not pods & first_pods

    # The same vault again: nothing is written, the pod templates stay as they are.
    templates = {service: pod_template(kube_client, namespace, service) for service in SERVICES}
    version = secret.metadata.resourceVersion
    again = apps(vault_loyalty_db_password=password)
    assert_ok(again)
    assert again.changed() == 0
    assert {service: pod_template(kube_client, namespace, service) for service in SERVICES} == templates
    assert get(kube_client, "v1", "Secret", namespace, "user-service-secrets").metadata.resourceVersion == version


def test_services_with_credentials_of_their_own(apps, kube_client, namespace):
    """Two services get their own database users and JWT secrets; the other two fall back on the shared ones, as the
    sandbox's inventory lists every field in eks_apps_shared_credentials. A rotation of one service's own secret rolls
    that service only."""
    token = uuid.uuid4().hex[:10]
    own = {
        "user-service": {"db_username": "user_svc_" + token, "db_password": "user/pw+" + token, "jwt_secret": "user-jwt-" + token},
        "point-service": {"db_username": "point_svc_" + token, "db_password": "point/pw+" + token, "jwt_secret": "point-jwt-" + token},
    }
    assert_ok(apps(vault_loyalty_service_credentials=own))
    data = {service: decoded(get(kube_client, "v1", "Secret", namespace, service + "-secrets")) for service in SERVICES}
    for service, fields in own.items():
        got = data[service]
        assert (got["database-username"], got["database-password"], got["jwt-secret"]) == (
            fields["db_username"], fields["db_password"], fields["jwt_secret"])
    assert data["user-service"]["jwt-secret"] != data["point-service"]["jwt-secret"]
    shared = data["rewards-service"]
    assert (data["admin-service"]["database-username"], data["admin-service"]["jwt-secret"]) == (shared["database-username"], shared["jwt-secret"])
    assert shared["database-username"] not in {fields["db_username"] for fields in own.values()}
    assert shared["jwt-secret"] not in {fields["jwt_secret"] for fields in own.values()}
    assert len({got["redis-password"] for got in data.values()}) == 1  # none has a Redis password of its own

    before = {service: pod_template(kube_client, namespace, service) for service in SERVICES}
    versions = {service: get(kube_client, "v1", "Secret", namespace, service + "-secrets").metadata.resourceVersion for service in SERVICES}
    rotated = dict(own, **{"user-service": dict(own["user-service"], jwt_secret="user-jwt2-" + token)})
    assert_ok(apps(vault_loyalty_service_credentials=rotated))
    assert decoded(get(kube_client, "v1", "Secret", namespace, "user-service-secrets"))["jwt-secret"] == "user-jwt2-" + token
    assert pod_template(kube_client, namespace, "user-service")[0]["metadata"]["annotations"][SECRET_SHA] != (
        before["user-service"][0]["metadata"]["annotations"][SECRET_SHA])
    for service in ("point-service", "rewards-service", "admin-service"):
        assert pod_template(kube_client, namespace, service) == before[service], service
        assert get(kube_client, "v1", "Secret", namespace, service + "-secrets").metadata.resourceVersion == versions[service], service


PREFLIGHT_FAILURES = [
    pytest.param({"loyalty_environment": "prod"},
                 'loyalty_environment (eks_apps_environment) is "prod": set it to one of production, staging, local',
                 id="unknown-environment"),
    pytest.param({"vault_loyalty_jwt_secret": ""},
                 "vault_loyalty_jwt_secret is missing or empty: add it to inventories/local/group_vars/all/vault.yml",
                 id="missing-vault-secret"),
    pytest.param({"eks_apps_shared_credentials": []},
                 'vault_loyalty_service_credentials["user-service"] has no db_username, db_password, redis_password, jwt_secret: '
                 "give the service credentials of its own in inventories/local/group_vars/all/vault.yml",
                 id="no-own-credentials"),
    pytest.param({"loyalty_environment": "production", "eks_apps_shared_credentials": ["redis_password"]},
                 'vault_loyalty_service_credentials["point-service"] has no db_username, db_password, jwt_secret: '
                 "give the service credentials of its own in inventories/production/group_vars/all/vault.yml (encrypted with "
                 "ansible-vault; vault.yml.example next to it shows the shape), or list them in eks_apps_shared_credentials "
                 "(inventories/production/group_vars/all/main.yml) to give it the shared vault_loyalty_db_username",
                 id="production-without-own-credentials"),
    pytest.param({"eks_apps_pdb_min_available": 2},
                 "replicas below eks_apps_pdb_min_available (2) for user-service (1), point-service (1)",
                 id="replicas-below-pdb"),
    pytest.param({"loyalty_environment": "production", "eks_apps_image_tag": "latest"},
                 "image tags that cannot be released: user-service (image tag latest names no release and is refused in production)",
                 id="latest-in-production"),
    pytest.param({"eks_apps_image_tag": ""},
                 "image tags that cannot be released: user-service (no image tag is set)",
                 id="empty-tag"),
    pytest.param({"eks_apps_services": [{"name": "User_Service"}, {"name": "point-service"}]},
                 'eks_apps_services: "User_Service" not a DNS-1123 label',
                 id="bad-service-name"),
    pytest.param({"eks_apps_services": [{"name": "point-service"}, {"name": "point-service"}]},
                 "eks_apps_services lists point-service more than once",
                 id="duplicate-service"),
    pytest.param({"eks_apps_liveness_probe": {"initialDelay": 5}},
                 "spec.template.spec.containers[0].livenessProbe: Additional properties are not allowed ('initialDelay' was unexpected)",
                 id="schema-unknown-field"),
    pytest.param({"eks_apps_resources": {"limits": {"cpu": ["1"]}}},
                 "Deployment {namespace}/user-service-blue: spec.template.spec.containers[0].resources.limits.cpu",
                 id="schema-wrong-type"),
]


@pytest.mark.parametrize("extra_vars, message", PREFLIGHT_FAILURES)
def test_bad_input_fails_before_any_write(apps, kube_client, namespace, kube_sandbox, extra_vars, message):
    labels_before = namespace_labels(kube_client, namespace)
    objects_before = listing(kube_client, namespace, role_only=False)
    before = kube_sandbox.stats()
    result = apps(**extra_vars)
    after = kube_sandbox.stats()
    assert result.rc != 0
    assert message.format(namespace=namespace) in failure_message(result), result.stdout[-4000:]
    assert after["writes"] == before["writes"], "a write happened before the failure"
    assert listing(kube_client, namespace, role_only=False) == objects_before
    assert namespace_labels(kube_client, namespace) == labels_before


def test_pod_security_restricted_is_enforced_and_every_pod_of_the_role_is_admitted(apps, kube_client, namespace):
    assert_ok(apps())
    labels = namespace_labels(kube_client, namespace)
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods_api = kube_client.resources.get(api_version="v1", kind="Pod")
    # The real API server's PodSecurity admission rejects a pod that breaks the profile in this namespace...
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": namespace},
                  "spec": {"containers": [{"name": "app", "image": "busybox:1", "securityContext": {"privileged": True}}]}}
    with pytest.raises(Exception) as raised:
        pods_api.create(body=privileged, namespace=namespace)
    assert getattr(raised.value, "status", None) == 403 and "violates PodSecurity" in str(raised.value.body)
    # ...and admits every pod the role's Deployments create: each ReplicaSet reaches its count, with no FailedCreate.
    deployments = kube_client.resources.get(api_version="apps/v1", kind="Deployment").get(namespace=namespace).items
    assert len(deployments) == len(SERVICES)
    wanted = sum(d.spec.replicas for d in deployments)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = [p for p in pods_api.get(namespace=namespace, label_selector="app").items if p.metadata.name != "privileged"]
        if len(pods) == wanted:
            break
        time.sleep(0.5)
    assert len(pods) == wanted, "%d of %d pods exist" % (len(pods), wanted)
    replicasets = kube_client.resources.get(api_version="apps/v1", kind="ReplicaSet").get(namespace=namespace).items
    for replicaset in replicasets:
        for condition in replicaset.status.conditions or []:
            assert condition.type != "ReplicaFailure", "%s: %s" % (replicaset.metadata.name, condition.message)
