"""Integration tests of playbooks/logging.yml (role loyalty.platform.logging_elk) against the sandbox.

The objects go to the real API server, where ECK's CRDs (generated from ECK's API types) validate Elasticsearch and
Kibana, Pod Security Admission judges every pod, and kwok runs Logstash's and Filebeat's pods; the playbook runs as
the deployer ServiceAccount holding the collection's RBAC only. The ILM policy and the index template go to the
sandbox's Elasticsearch stand-in, read back through its REST API, and a document indexed into the data stream is
searched back with the mapped field types.
"""

import uuid

import pytest
import requests

from backuplib import wait_for
from conftest import DEPLOYER, DEPLOYER_NAMESPACE, deployer_binding

PLAYBOOK = "playbooks/logging.yml"
INVENTORY = "inventories/local"
LOGGING_RBAC = "loyalty-platform:logging"
CLUSTER_BINDING = "loyalty-platform-ci:logging-cluster"


def es(sandbox, method, path, **kwargs):
    return requests.request(method, sandbox["ELASTICSEARCH_URL"].rstrip("/") + path, timeout=10,
                            auth=(sandbox["ELASTICSEARCH_USERNAME"], sandbox["ELASTICSEARCH_PASSWORD"]),
                            verify=sandbox.get("ELASTICSEARCH_CA") or True, **kwargs)


@pytest.fixture
def stack(kube_client, kube_apply, deployer_kubeconfig):  # pylint: disable=unused-argument
    """Names of one test's own logging stack: its two namespaces (bound to the logging ClusterRole, as an
    administrator does once), its cluster, dataset and so ILM policy, template and data stream."""
    suffix = uuid.uuid4().hex[:8]
    names = {"namespace": "lg-" + suffix, "agents": "lga-" + suffix, "cluster": "lg" + suffix, "dataset": "lg" + suffix}
    namespaces = kube_client.resources.get(api_version="v1", kind="Namespace")
    yield names
    for name in (names["namespace"], names["agents"]):
        try:
            namespaces.delete(name=name)
        except Exception:  # pylint: disable=broad-except
            pass
    # The cluster-wide grant (bind) and Filebeat's cluster-wide objects go too: the other suites' deployer holds no
    # cluster-wide read (test_rbac checks it).
    for kind, name in (("ClusterRoleBinding", CLUSTER_BINDING), ("ClusterRoleBinding", "loyalty-filebeat"), ("ClusterRole", "loyalty-filebeat")):
        try:
            kube_client.resources.get(api_version="rbac.authorization.k8s.io/v1", kind=kind).delete(name=name)
        except Exception:  # pylint: disable=broad-except
            pass


def bind(kube_apply, names, namespaces=True):
    """What an administrator does before the first run (the role's README, "Permissions"): the cluster-wide part of the
    role's rights bound, the namespaces made, and the namespaced part bound in each (namespaces=False: the cluster-wide
    part only)."""
    kube_apply({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": CLUSTER_BINDING},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": LOGGING_RBAC + "-cluster"},
        "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": DEPLOYER_NAMESPACE}],
    })
    for name in (names["namespace"], names["agents"]) if namespaces else ():
        kube_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                   deployer_binding(name, LOGGING_RBAC))


def variables(names, **extra):
    values = {"logging_elk_namespace": names["namespace"], "logging_elk_agent_namespace": names["agents"],
              "logging_elk_cluster_name": names["cluster"], "logging_elk_dataset": names["dataset"]}
    values.update(extra)
    return values


def objects(kube_client, api_version, kind, namespace):
    return kube_client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).items


def test_converge_applies_a_valid_stack_and_a_second_run_changes_nothing(run_playbook, kube_client, kube_apply, stack, sandbox):
    bind(kube_apply, stack)
    first = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack))
    assert first.rc == 0, first.failed_message() or first.stdout[-3000:]
    assert first.changed() > 0

    second = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack))
    assert second.rc == 0, second.failed_message()
    assert second.changed() == 0, second.changed_tasks()
    # Check mode on the converged stack dry-runs every object and finds nothing to change either.
    checked = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack), check=True, diff=True)
    assert checked.rc == 0, checked.failed_message()
    assert checked.changed() == 0, checked.changed_tasks()

    ns = stack["namespace"]
    cluster = objects(kube_client, "elasticsearch.k8s.elastic.co/v1", "Elasticsearch", ns)
    assert [item.metadata.name for item in cluster] == [stack["cluster"]]
    node_set = cluster[0].spec.nodeSets[0]
    assert node_set.count == 1 and node_set.config["node.store.allow_mmap"] is False
    assert node_set.volumeClaimTemplates[0].spec.resources.requests.storage == "1Gi"
    # The pod template's labels survive the CRD's schema (embedded ObjectMeta is kept, not pruned).
    assert node_set.podTemplate.metadata.labels["app.kubernetes.io/part-of"] == "loyalty-logging"
    kibana = objects(kube_client, "kibana.k8s.elastic.co/v1", "Kibana", ns)
    assert kibana[0].spec.elasticsearchRef.name == stack["cluster"]

    pipelines = kube_client.resources.get(api_version="v1", kind="ConfigMap").get(name="logstash-pipelines", namespace=ns)
    assert "_grokparsefailure_springboot" in pipelines.data["main.conf"]
    assert "stdout" not in pipelines.data["main.conf"]
    assert "data_stream_dataset => '%s'" % stack["dataset"] in pipelines.data["main.conf"]

    # kwok runs the pods: Logstash's StatefulSet is ready, Filebeat runs on every node (admitted as privileged).
    statefulset = kube_client.resources.get(api_version="apps/v1", kind="StatefulSet").get(name="logstash", namespace=ns)
    assert statefulset.status.readyReplicas == 1
    daemonset = kube_client.resources.get(api_version="apps/v1", kind="DaemonSet").get(name="filebeat", namespace=stack["agents"])
    nodes = kube_client.resources.get(api_version="v1", kind="Node").get().items
    assert daemonset.status.numberReady == daemonset.status.desiredNumberScheduled == len(nodes)

    # The ILM policy and the template, as Elasticsearch stores them.
    policy_name = "%s-local" % stack["cluster"]
    policy = es(sandbox, "GET", "/_ilm/policy/" + policy_name).json()[policy_name]["policy"]
    assert policy["phases"]["delete"]["min_age"] == "1d"
    assert policy["phases"]["hot"]["actions"]["rollover"] == {"max_primary_shard_size": "50gb", "max_age": "1d"}
    template = es(sandbox, "GET", "/_index_template/" + policy_name).json()["index_templates"][0]["index_template"]
    stream = "logs-%s-local" % stack["dataset"]
    assert template["index_patterns"] == [stream + "*"]
    assert template["template"]["settings"]["index"]["lifecycle"]["name"] == policy_name

    # A document the pipeline would write lands in the data stream with the template's field types.
    # refresh: a document becomes searchable at the next refresh, as in Elasticsearch.
    indexed = es(sandbox, "POST", "/%s/_doc?refresh=true" % stream, json={
        "@timestamp": "2026-12-04T01:02:03Z", "level": "WARN", "logger": "SECURITY", "service": "user-service",
        "color": "blue", "log_message": "login refused", "client_ip": "10.0.0.7", "tags": ["security"]})
    assert indexed.status_code in (200, 201), indexed.text
    mapping = es(sandbox, "GET", "/%s/_mapping" % stream).json()
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["@timestamp"]["type"] == "date"
    assert properties["level"]["type"] == "keyword"
    assert properties["client_ip"]["type"] == "ip"
    found = es(sandbox, "POST", "/%s/_search" % stream, json={"query": {"term": {"level": "WARN"}}}).json()
    assert [hit["_source"]["log_message"] for hit in found["hits"]["hits"]] == ["login refused"]


def test_check_mode_on_a_new_cluster_writes_nothing(run_playbook, kube_client, kube_apply, stack, sandbox):
    bind(kube_apply, stack, namespaces=False)
    result = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack), check=True, diff=True)
    assert result.rc == 0, result.failed_message()
    assert result.changed() > 0
    names = [item.metadata.name for item in kube_client.resources.get(api_version="v1", kind="Namespace").get().items]
    assert stack["namespace"] not in names and stack["agents"] not in names
    assert es(sandbox, "GET", "/_ilm/policy/%s-local" % stack["cluster"]).status_code == 404
    assert es(sandbox, "GET", "/_index_template/%s-local" % stack["cluster"]).status_code == 404


def test_production_without_the_siem_secret_fails_in_preflight_naming_the_vault_key(run_playbook, kube_client, stack):
    result = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(
        stack, loyalty_environment="production", logging_elk_siem_enabled=True, logging_elk_siem_url="", logging_elk_siem_token=""))
    assert result.rc != 0
    message = result.failed_message()
    assert "vault_logging_siem_url" in message and "vault_logging_siem_token" in message
    assert "nothing was changed" in message
    names = [item.metadata.name for item in kube_client.resources.get(api_version="v1", kind="Namespace").get().items]
    assert stack["namespace"] not in names


@pytest.mark.parametrize("pattern, named", [
    ("%clr(%d{yyyy-MM-dd HH:mm:ss}){faint} %-5level %msg%n", "%clr"),
    ("%d{yyyy-MM-dd HH:mm:ss} %-5level [%X{trace(id}] %msg%n", "not a grok reference"),
    ("[%thread] %d{yyyy-MM-dd HH:mm:ss} %-5level %msg%n", "must start with %d"),
    ("[%thread] %-5level %msg%n", "no %d conversion"),
])
def test_a_log_pattern_the_pipeline_cannot_parse_fails_before_anything_is_written(run_playbook, kube_client, stack, sandbox, pattern, named):
    result = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack, logging_elk_log_pattern=pattern))
    assert result.rc != 0
    assert named in result.failed_message() or named in result.stdout
    names = [item.metadata.name for item in kube_client.resources.get(api_version="v1", kind="Namespace").get().items]
    assert stack["namespace"] not in names
    assert es(sandbox, "GET", "/_ilm/policy/%s-local" % stack["cluster"]).status_code == 404


def test_the_baseline_level_is_enforced_in_the_stack_namespace(run_playbook, kube_client, kube_apply, stack):
    bind(kube_apply, stack)
    result = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack, logging_elk_wait_timeout=0))
    assert result.rc == 0, result.failed_message()
    pods = kube_client.resources.get(api_version="v1", kind="Pod")
    from kubernetes.dynamic.exceptions import ForbiddenError  # pylint: disable=import-outside-toplevel
    with pytest.raises(ForbiddenError) as refused:
        pods.create(namespace=stack["namespace"], body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}})
    assert "violates PodSecurity" in str(refused.value)
    # Filebeat's pods, which need hostPath volumes, are admitted in the agents' namespace.
    wait_for("Filebeat's pods in the agents' namespace", lambda: pods.get(namespace=stack["agents"]).items, 60, interval=0.5)


def test_without_eck_with_the_siem_and_a_new_retention(run_playbook, kube_client, kube_apply, stack, sandbox):
    """Elasticsearch and Kibana as a StatefulSet and a Deployment, the SIEM pipeline with its Secret (never printed),
    and a changed retention rewriting only the ILM policy."""
    bind(kube_apply, stack)
    token = "siem-token-" + uuid.uuid4().hex
    extra = {"logging_elk_eck": False, "logging_elk_kibana_password": "kibana-" + uuid.uuid4().hex, "logging_elk_siem_enabled": True,
             "logging_elk_siem_url": "https://siem.example.invalid/collect", "logging_elk_siem_token": token, "logging_elk_wait_timeout": 0}
    first = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack, **extra), diff=True)
    assert first.rc == 0, first.failed_message()
    assert token not in first.stdout and token not in first.stderr

    ns = stack["namespace"]
    statefulsets = {item.metadata.name: item for item in objects(kube_client, "apps/v1", "StatefulSet", ns)}
    assert set(statefulsets) == {"%s-es-default" % stack["cluster"], "logstash"}
    elasticsearch = statefulsets["%s-es-default" % stack["cluster"]].spec.template.spec.containers[0]
    assert {item.name: item.value for item in elasticsearch.env if item.value}["xpack.security.enabled"] == "true"
    services = {item.metadata.name for item in objects(kube_client, "v1", "Service", ns)}
    assert {"%s-es-http" % stack["cluster"], "%s-kb-http" % stack["cluster"], "logstash"} <= services
    assert objects(kube_client, "elasticsearch.k8s.elastic.co/v1", "Elasticsearch", ns) == []
    secret = kube_client.resources.get(api_version="v1", kind="Secret").get(name="logstash-siem", namespace=ns)
    import base64  # pylint: disable=import-outside-toplevel
    assert base64.b64decode(secret.data["token"]).decode() == token
    pipelines = kube_client.resources.get(api_version="v1", kind="ConfigMap").get(name="logstash-pipelines", namespace=ns).data
    assert "send_to => ['siem']" in pipelines["main.conf"] and "address => 'siem'" in pipelines["siem.conf"]
    assert "pipeline.id: siem" in pipelines["pipelines.yml"] and "queue.type: persisted" in pipelines["pipelines.yml"]
    logstash = statefulsets["logstash"].spec.template.spec.containers[0]
    assert {item.name for item in logstash.env if item.valueFrom} >= {"SIEM_URL", "SIEM_TOKEN", "ELASTICSEARCH_PASSWORD"}

    policy_name = "%s-local" % stack["cluster"]
    before = es(sandbox, "GET", "/_ilm/policy/" + policy_name).json()[policy_name]["version"]
    longer = run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=variables(stack, logging_elk_retention_days=3, **extra))
    assert longer.rc == 0, longer.failed_message()
    assert longer.changed_tasks() == ["loyalty.platform.logging_elk : Write the ILM policy (rollover, then delete after the retention)"]
    stored = es(sandbox, "GET", "/_ilm/policy/" + policy_name).json()[policy_name]
    assert stored["policy"]["phases"]["delete"]["min_age"] == "3d" and stored["version"] == before + 1
