"""Unit tests of the eks_apps role's templates, rendered with plain Jinja2.

The variables come from the role's defaults and vars and from each inventory's
group_vars, resolved the way Ansible would for these simple cases; the Ansible
filters the templates use are re-implemented here. Every rendered manifest is
also checked against the Kubernetes 1.30 schema with the collection's validator.
"""

import ast
import base64
import copy
import hashlib
import json
import os
import re

import jinja2
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_changes import secret_hash
from ansible_collections.loyalty.platform.plugins.filter.colored_name import FilterModule as NameFilters
from ansible_collections.loyalty.platform.plugins.filter.convention import FilterModule as ConventionFilters
from ansible_collections.loyalty.platform.plugins.filter.image_tag_problem import FilterModule as TagProblemFilters
from ansible_collections.loyalty.platform.plugins.module_utils.k8s_validate import validate_manifests
from ansible_collections.loyalty.platform.plugins.test.pinned_image_tag import TestModule as TagTests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO_ROOT, "roles", "eks_apps")
SECRETS = {
    "vault_loyalty_db_username": "unit-user",
    "vault_loyalty_db_password": "unit-db-pass/+=",
    "vault_loyalty_redis_password": "unit-redis-pass/1",
    "vault_loyalty_jwt_secret": "unit-jwt-secret",
}
SERVICES = ("user-service", "point-service", "rewards-service", "admin-service")
# What vault.yml.example asks staging and production for: each service's own database user and JWT secret (they share
# the Redis AUTH token: eks_apps_shared_credentials: [redis_password] in their main.yml). The sandbox's vault has
# the shared credentials only, and its inventory shares them all.
SERVICE_CREDENTIALS = {
    name: {"db_username": name.split("-", maxsplit=1)[0] + "_svc", "db_password": "unit-%s-db/+=" % name, "jwt_secret": "unit-%s-jwt" % name}
    for name in SERVICES
}
VAULTS = {
    "local": SECRETS,
    "staging": dict(SECRETS, vault_loyalty_service_credentials=SERVICE_CREDENTIALS),
    "production": dict(SECRETS, vault_loyalty_service_credentials=SERVICE_CREDENTIALS),
}


def secret_values():
    """Every secret value any vault of VAULTS holds."""
    values = set(SECRETS.values())
    for fields in SERVICE_CREDENTIALS.values():
        values.update(fields.values())
    return values


def _bool(value):
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


_NO_DEFAULT = object()


@jinja2.pass_context
def _lookup(context, kind, name, default=_NO_DEFAULT, errors="strict"):
    assert kind in ("ansible.builtin.env", "ansible.builtin.vars", "ansible.builtin.file"), kind
    if kind == "ansible.builtin.vars":
        if name not in context and default is _NO_DEFAULT:
            raise jinja2.UndefinedError("No variable named %r" % name)  # as Ansible's vars lookup without a default
        return context.get(name, "" if default is _NO_DEFAULT else default)
    if kind == "ansible.builtin.file":
        try:
            with open(name, encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            if errors == "ignore":
                return None
            raise
    return os.environ.get(name, "" if default is _NO_DEFAULT else default)


# What playbooks/infra.yml leaves for the inventories of AWS environments (the aws_infra_outputs fact).
INFRA_OUTPUTS = {
    "production": {"database_address": "loyalty-system-production.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com",
                   "redis_primary_endpoint": "master.loyalty-system-production.ab12cd.usw2.cache.amazonaws.com"},
    "staging": {"database_address": "loyalty-system-staging.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com",
                "redis_primary_endpoint": "master.loyalty-system-staging.ab12cd.usw2.cache.amazonaws.com"},
}


def make_env():
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["to_json"] = json.dumps
    env.filters["b64encode"] = lambda text: base64.b64encode(str(text).encode()).decode()
    env.filters["hash"] = lambda text, algorithm: hashlib.new(algorithm, str(text).encode()).hexdigest()
    env.filters["bool"] = _bool
    env.filters["ansible.builtin.from_yaml"] = yaml.safe_load
    env.filters["ansible.builtin.from_json"] = json.loads
    # The collection's own plugins, as they are (pure functions).
    for name, function in dict(ConventionFilters().filters(), **TagProblemFilters().filters(), **NameFilters().filters()).items():
        env.filters["loyalty.platform." + name] = function
    for name, function in TagTests().tests().items():
        env.tests["loyalty.platform." + name] = function
    env.tests["changed"] = lambda result: bool(result.get("changed"))
    env.tests["ansible.builtin.match"] = lambda value, pattern: re.match(pattern, str(value)) is not None
    env.tests["ansible.builtin.search"] = lambda value, pattern: re.search(pattern, str(value)) is not None
    env.globals["lookup"] = _lookup
    return env


ENV = make_env()


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _resolve(value, context):
    if isinstance(value, str) and "{{" in value:
        try:
            rendered = ENV.from_string(value).render(context)
        except jinja2.UndefinedError:
            return value  # refers to a fact set later in the play (_eks_apps_present): not used by the templates
        if rendered.strip().startswith(("{", "[")):
            try:
                return ast.literal_eval(rendered.strip())  # a mapping or a list, as Ansible's native templating keeps it
            except (ValueError, SyntaxError):
                pass
        try:
            return yaml.safe_load(rendered) if rendered.strip().lstrip("-").isdigit() else rendered
        except yaml.YAMLError:
            return rendered
    if isinstance(value, dict):
        return {key: _resolve(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, context) for item in value]
    return value


def variables(environment, **overrides):
    """Role defaults < inventory group_vars < overrides, role vars on top (as in Ansible), templated."""
    context = {}
    context.update(_load(os.path.join(ROLE, "defaults", "main.yml")))
    inventory = os.path.join(REPO_ROOT, "inventories", environment, "group_vars", "all")
    context.update(_load(os.path.join(inventory, "main.yml")))
    context.update(_load(os.path.join(inventory, "eks_apps.yml")))
    context.update(VAULTS[environment])
    context["inventory_dir"] = os.path.dirname(os.path.dirname(inventory))
    if environment in INFRA_OUTPUTS:
        context["aws_infra_outputs"] = INFRA_OUTPUTS[environment]
    context.update(overrides)
    context.update(_load(os.path.join(ROLE, "vars", "main.yml")))
    # Ansible templates lazily; here the value the hosts read is resolved before the others.
    if "loyalty_infra_outputs" in context:
        context["loyalty_infra_outputs"] = _resolve(context["loyalty_infra_outputs"], context)
    for _round in range(4):
        context = {key: _resolve(value, context) for key, value in context.items()}
    return context


def render(name, context):
    return ENV.get_template(name).render(context)


def render_all(environment, foreign_services=(), **overrides):
    """What render.yml produces: resolved services, namespace, objects, Secrets, removals."""
    context = variables(environment, **overrides)
    context["_eks_apps_resolved"] = yaml.safe_load(render("services.yml.j2", context)) or []
    context["_eks_apps_foreign_service_names"] = list(foreign_services)
    # observe.yml: an explicit eks_apps_color, else the live group's color, else the default
    context["_eks_apps_color"] = context["eks_apps_color"] or context["_eks_apps_default_color"]
    # secrets.yml: the Secrets from the vault, and each service's hash of them, all the Deployments get
    secrets = list(yaml.safe_load_all(render("secrets.yml.j2", context)))
    context["_eks_apps_secret_digests"] = {
        secret["metadata"]["labels"]["app"]: secret["metadata"]["annotations"]["loyalty.platform/secret-hash"] for secret in secrets}
    return {
        "context": context,
        "resolved": context["_eks_apps_resolved"],
        "namespace": yaml.safe_load(render("namespace.yml.j2", context)),
        "objects": list(yaml.safe_load_all(render("manifests.yml.j2", context))),
        "secrets": secrets,
        "shapes": list(yaml.safe_load_all(render("secrets.yml.j2", dict(context, _eks_apps_secret_placeholders_only=True)))),
        "removals": list(yaml.safe_load_all(render("removals.yml.j2", context))),
    }


def find(objects, kind, name):
    matches = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(matches) == 1, "%s %s: %d matches" % (kind, name, len(matches))
    return matches[0]


def container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("environment", ["production", "staging", "local"])
def test_every_environment_renders_schema_valid_manifests(environment):
    out = render_all(environment)
    manifests = [out["namespace"]] + out["objects"] + out["secrets"]
    assert None not in manifests
    _version, objects, errors = validate_manifests(manifests, "1.30", strict=True)
    assert errors == []
    # 4 services x (ServiceAccount, ConfigMap, Service, Deployment, HPA, PDB, NetworkPolicy, Ingress, Secret) + Namespace
    assert len(objects) == 4 * 9 + 1
    namespace = "loyalty-system-" + environment
    assert {obj["metadata"]["namespace"] for obj in out["objects"] + out["secrets"]} == {namespace}


def test_namespace_has_restricted_pod_security_labels():
    namespace = render_all("production")["namespace"]
    assert namespace["metadata"]["name"] == "loyalty-system-production"
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels["pod-security.kubernetes.io/" + mode] == "restricted"


def test_production_values_from_the_guide():
    out = render_all("production")
    objects = out["objects"]
    deployment = find(objects, "Deployment", "user-service-blue")
    assert "replicas" not in deployment["spec"]  # the HPA (minReplicas 6, below) owns it
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    main = container(deployment)
    assert main["image"].startswith("ghcr.io/loyalty-system/user-service:")
    assert not main["image"].endswith(":latest")
    assert main["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    hpa = find(objects, "HorizontalPodAutoscaler", "user-service-blue")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (6, 20)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service-blue"}
    targets = {metric["resource"]["name"]: metric["resource"]["target"] for metric in hpa["metrics"] if metric["type"] == "Resource"}
    assert targets == {"cpu": {"type": "Utilization", "averageUtilization": 70}, "memory": {"type": "Utilization", "averageUtilization": 80}}
    pods = [metric["pods"] for metric in hpa["metrics"] if metric["type"] == "Pods"]
    assert pods == [{"metric": {"name": "http_requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "100"}}]
    assert hpa["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}
    assert hpa["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 60, "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}
    ingress = find(objects, "Ingress", "user-service")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert "kubernetes.io/ingress.class" not in annotations
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:us-west-2:")
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "api.loyalty-system.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "user-service", "port": {"name": "http"}}
    config = yaml.safe_load(find(objects, "ConfigMap", "user-service-blue-config")["data"]["application.yml"])
    assert config["server"] == {"port": 8080, "servlet": {"context-path": "/api/v1"}}
    assert config["spring"]["redis"]["host"] == "master.loyalty-system-production.ab12cd.usw2.cache.amazonaws.com"
    assert config["spring"]["redis"]["ssl"] is True
    assert config["logging"]["level"]["org.springframework.security"] == "WARN"


def test_staging_is_smaller_and_local_is_sandbox_sized():
    staging_out = render_all("staging")
    local_out = render_all("local")
    local = find(local_out["objects"], "Deployment", "point-service-blue")
    assert find(staging_out["objects"], "HorizontalPodAutoscaler", "point-service-blue")["spec"]["minReplicas"] == 2
    assert find(local_out["objects"], "HorizontalPodAutoscaler", "point-service-blue")["spec"]["minReplicas"] == 1
    assert container(local)["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    ingress = find(local_out["objects"], "Ingress", "point-service")
    assert ingress["spec"]["rules"][0]["host"] == "api.loyalty.local"
    assert "alb.ingress.kubernetes.io/certificate-arn" not in ingress["metadata"]["annotations"]


def test_deployment_security_probes_and_scrape_annotations():
    deployment = find(render_all("local")["objects"], "Deployment", "rewards-service-blue")
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8080"
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/api/v1/actuator/prometheus"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "rewards-service"
    assert spec["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    main = container(deployment)
    assert main["securityContext"] == {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert main["livenessProbe"] == {
        "httpGet": {"path": "/api/v1/actuator/health/liveness", "port": "http"},
        "initialDelaySeconds": 60, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3,
    }
    assert main["readinessProbe"] == {
        "httpGet": {"path": "/api/v1/actuator/health/readiness", "port": "http"},
        "initialDelaySeconds": 30, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2,
    }
    mounts = {mount["name"]: mount["mountPath"] for mount in main["volumeMounts"]}
    assert mounts == {"tmp": "/tmp", "logs": "/app/logs", "config": "/config"}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes["tmp"]["emptyDir"] == {} and volumes["logs"]["emptyDir"] == {}
    secret_refs = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in main["env"] if "valueFrom" in env}
    assert set(secret_refs) == {"DATABASE_URL", "DATABASE_USERNAME", "DATABASE_PASSWORD", "REDIS_URL", "REDIS_PASSWORD", "JWT_SECRET"}
    assert {ref["name"] for ref in secret_refs.values()} == {"rewards-service-secrets"}


def test_color_names_labels_and_selectors():
    objects = render_all("local", eks_apps_color="green")["objects"]
    deployment = find(objects, "Deployment", "admin-service-green")
    assert deployment["metadata"]["labels"]["app"] == "admin-service"
    assert deployment["metadata"]["labels"]["color"] == "green"
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "admin-service", "color": "green"}
    assert deployment["spec"]["template"]["metadata"]["labels"]["color"] == "green"
    # Sent when the Service is created only (compare.yml): the switch owns it afterwards.
    assert find(objects, "Service", "admin-service")["spec"]["selector"] == {"app": "admin-service", "color": "green"}
    assert find(objects, "HorizontalPodAutoscaler", "admin-service-green")["spec"]["scaleTargetRef"]["name"] == "admin-service-green"
    assert find(objects, "PodDisruptionBudget", "admin-service-green")["spec"]["selector"]["matchLabels"] == {
        "app": "admin-service", "color": "green"}
    # the ConfigMap is per color, and the Deployment of that color mounts it
    config = find(objects, "ConfigMap", "admin-service-green-config")
    assert config["metadata"]["labels"]["app"] == "admin-service"
    assert config["metadata"]["labels"]["color"] == "green"
    volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "admin-service-green-config"
    # color-neutral objects keep the service name
    policy = find(objects, "NetworkPolicy", "admin-service")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "admin-service"}}
    assert "color" not in find(objects, "ServiceAccount", "admin-service")["metadata"]["labels"]


@pytest.mark.parametrize("environment", ["production", "staging", "local"])
def test_services_listen_on_the_guide_s_8080(environment):
    """The guide's Prometheus job scrapes <service>:8080, and service-to-service URLs written from it use the same."""
    objects = render_all(environment)["objects"]
    ports = [obj["spec"]["ports"] for obj in objects if obj["kind"] == "Service"]
    assert ports and all(port == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}] for port in ports), ports


def test_a_service_someone_else_made_is_never_rendered():
    objects = render_all("local", foreign_services=["user-service", "unrelated"])["objects"]
    services = [obj["metadata"]["name"] for obj in objects if obj["kind"] == "Service"]
    assert services == ["point-service", "rewards-service", "admin-service"]


def test_replicas_are_left_to_the_hpa_while_autoscaling():
    # Server-side apply: a field the role never sends stays with the manager that owns it (the HPA's scaling).
    out = render_all("production")
    assert all("replicas" not in find(out["objects"], "Deployment", name + "-blue")["spec"]
               for name in ("user-service", "point-service", "rewards-service", "admin-service"))
    fixed = render_all("production", eks_apps_autoscaling_enabled=False)
    assert find(fixed["objects"], "Deployment", "user-service-blue")["spec"]["replicas"] == 6
    assert not [obj for obj in fixed["objects"] if obj["kind"] == "HorizontalPodAutoscaler"]


def test_network_policy_ports():
    policy = find(render_all("production")["objects"], "NetworkPolicy", "user-service")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    sources = policy["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "10.0.0.0/16"}} in sources
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}} in sources
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "loyalty-system"}}} in sources
    egress_ports = sorted((port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"])
    assert egress_ports == [("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 8080), ("UDP", 53)]
    assert all(rule["to"] for rule in policy["egress"]), "an empty `to` would allow every destination"


def decoded(secret):
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_secret_values_come_from_the_vault_and_placeholders_hide_them():
    out = render_all("production")
    data = decoded(find(out["secrets"], "Secret", "user-service-secrets"))
    assert data["database-username"] == "user_svc"
    assert data["database-password"] == "unit-user-service-db/+="
    assert data["jwt-secret"] == "unit-user-service-jwt"
    assert data["redis-password"] == "unit-redis-pass/1"  # the shared AUTH token (eks_apps_shared_credentials)
    assert data["database-url"] == (
        "jdbc:postgresql://loyalty-system-production.c1a2b3c4d5e6.us-west-2.rds.amazonaws.com:5432/loyalty_production?sslmode=require")
    assert data["redis-url"] == "rediss://:unit-redis-pass%2F1@master.loyalty-system-production.ab12cd.usw2.cache.amazonaws.com:6379"
    placeholder_text = json.dumps(out["shapes"])
    assert [shape["metadata"]["name"] for shape in out["shapes"]] == [secret["metadata"]["name"] for secret in out["secrets"]]
    for value in secret_values():
        assert base64.b64encode(value.encode()).decode() not in placeholder_text
        assert value not in placeholder_text
    # the non-secret manifests never carry a secret value either
    plain = json.dumps([out["namespace"]] + out["objects"])
    for value in secret_values():
        assert value not in plain and base64.b64encode(value.encode()).decode() not in plain


def test_service_overrides_and_absent_items():
    services = [
        {"name": "user-service", "replicas": 0, "image_tag": "2.0.1", "max_replicas": 9, "ingress_path": "/u"},
        {"name": "gone-service", "state": "absent"},
        {"name": "plain-service"},
    ]
    out = render_all("local", eks_apps_services=services, eks_apps_pdb_min_available=0)
    resolved = {svc["name"]: svc for svc in out["resolved"]}
    assert resolved["user-service"]["replicas"] == 0
    assert resolved["user-service"]["image"] == "ghcr.io/loyalty-system/user-service:2.0.1"
    assert resolved["plain-service"]["state"] == "present"
    assert resolved["plain-service"]["ingress_path"] == "/plain-service"
    assert resolved["gone-service"]["state"] == "absent"
    assert {obj["metadata"]["labels"]["app"] for obj in out["objects"]} == {"user-service", "plain-service"}
    assert find(out["objects"], "Ingress", "user-service")["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/u"
    removals = {(obj["kind"], obj["metadata"]["name"]) for obj in out["removals"]}
    assert removals == {
        ("Deployment", "gone-service-blue"), ("Deployment", "gone-service-green"),
        ("HorizontalPodAutoscaler", "gone-service-blue"), ("HorizontalPodAutoscaler", "gone-service-green"),
        ("PodDisruptionBudget", "gone-service-blue"), ("PodDisruptionBudget", "gone-service-green"),
        ("Ingress", "gone-service"), ("Service", "gone-service"), ("NetworkPolicy", "gone-service"),
        ("ConfigMap", "gone-service-blue-config"), ("ConfigMap", "gone-service-green-config"),
        ("ConfigMap", "gone-service-config"), ("Secret", "gone-service-secrets"), ("ServiceAccount", "gone-service"),
    }
    assert {obj["metadata"]["labels"]["app"] for obj in out["removals"]} == {"gone-service"}


def test_config_change_changes_the_pod_template_checksum():
    before = find(render_all("local")["objects"], "Deployment", "user-service-blue")
    after = find(render_all("local", eks_apps_log_levels={"com.loyalty": "TRACE"})["objects"], "Deployment", "user-service-blue")
    key = "loyalty.platform/config-sha256"
    assert before["spec"]["template"]["metadata"]["annotations"][key] != after["spec"]["template"]["metadata"]["annotations"][key]


def test_disabled_ingress_and_network_policy_are_not_rendered():
    out = render_all("local", eks_apps_ingress_enabled=False, eks_apps_network_policy_enabled=False)
    kinds = {obj["kind"] for obj in out["objects"]}
    assert "Ingress" not in kinds and "NetworkPolicy" not in kinds


SERVICE_NAMES = st.from_regex(r"\A[a-z]([-a-z0-9]{0,55}[a-z0-9])?\Z", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(SERVICE_NAMES, min_size=1, max_size=5, unique=True),
    color=st.sampled_from(["blue", "green"]),
    environment=st.sampled_from(["production", "staging", "local"]),
)
def test_any_valid_service_list_renders_valid_colored_manifests(names, color, environment):
    out = render_all(environment, eks_apps_services=[{"name": name} for name in names], eks_apps_color=color)
    _version, _objects, errors = validate_manifests(out["objects"] + out["secrets"], "1.30")
    assert errors == []
    for name in names:
        objects = [obj for obj in out["objects"] if obj["metadata"]["labels"]["app"] == name]
        assert len(objects) == 8
        colored = [obj for obj in objects if obj["kind"] in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget")]
        assert {obj["metadata"]["name"] for obj in colored} == {"%s-%s" % (name, color)}
        colored += [find(objects, "ConfigMap", "%s-%s-config" % (name, color))]
        assert all(obj["metadata"]["labels"]["color"] == color for obj in colored)


def test_rendering_is_deterministic():
    first = render_all("production")
    second = render_all("production")
    assert first["objects"] == second["objects"]
    assert copy.deepcopy(first["secrets"]) == second["secrets"]


def test_changes_report_names_each_changed_object_with_its_diff():
    objects = render_all("local", eks_apps_services=[{"name": "user-service"}, {"name": "point-service"}])["objects"]
    user = [obj for obj in objects if obj["metadata"]["labels"]["app"] == "user-service"]
    unchanged = {"changed": False, "method": "apply", "result": {}}
    user_results = [dict(unchanged) for _obj in user]
    deployment_index = [obj["kind"] for obj in user].index("Deployment")
    user_results[deployment_index] = {
        "changed": True, "method": "apply", "result": {},
        "diff": {"before": {"spec": {"replicas": 1}}, "after": {"spec": {"replicas": 2}}},
    }
    runs = [
        {"changed": True, "item": {"name": "user-service"}, "result": {"results": user_results}},
        {"changed": False, "item": {"name": "point-service"}, "result": {"results": []}},
    ]
    context = {"_eks_apps_runs": runs, "_eks_apps_definitions": objects}
    report = yaml.safe_load(render("changes.j2", context))
    assert report == {
        "Deployment loyalty-system-local/user-service-blue": {
            "method": "apply", "before": {"spec": {"replicas": 1}}, "after": {"spec": {"replicas": 2}}},
    }
    assert yaml.safe_load(render("changes.j2", {"_eks_apps_runs": [], "_eks_apps_definitions": objects})) == {}


def test_secret_hash_annotation_matches_the_filter_s_hash_and_follows_the_values():
    out = render_all("local")
    secret = find(out["secrets"], "Secret", "user-service-secrets")
    annotation = secret["metadata"]["annotations"]["loyalty.platform/secret-hash"]
    assert annotation == secret_hash(secret["data"])
    other = render_all("local", vault_loyalty_jwt_secret="another-secret")
    assert find(other["secrets"], "Secret", "user-service-secrets")["metadata"]["annotations"]["loyalty.platform/secret-hash"] != annotation
    for value in secret_values():
        assert value not in annotation


def preflight_problems(environment, **overrides):
    """What tasks/preflight.yml fails with: the messages templates/preflight.j2 lists."""
    context = variables(environment, **overrides)
    out = json.loads(render("preflight.j2", context))
    assert out["services"] == (yaml.safe_load(render("services.yml.j2", context)) or [])
    return out["problems"]


# What a production user sets in place of the guide's certificate/xxx.
CERTIFICATE = {"eks_apps_ingress_certificate_arn": "arn:aws:acm:us-west-2:123456789012:certificate/0b5c7e2a-3f1d-4c6e-9a8b-1d2e3f4a5b6c"}


@pytest.mark.parametrize("environment", ["production", "staging", "local"])
def test_every_environment_passes_the_preflight(environment):
    assert preflight_problems(environment, **(CERTIFICATE if environment == "production" else {})) == []


def test_production_refuses_the_guide_s_placeholders_and_open_egress():
    """As shipped, the production inventory holds the guide's certificate/xxx: refused until it is a real ARN. So are the
    guide's cluster-xxxxx hosts and an egress open to the internet, unless that is asked for."""
    where = "inventories/production/group_vars/all/eks_apps.yml"
    shipped = preflight_problems("production")
    assert len(shipped) == 1 and shipped[0].startswith('eks_apps_ingress_certificate_arn is "arn:aws:acm:us-west-2:123456789012:certificate/xxx"')
    assert "api.loyalty-system.com" in shipped[0] and where in shipped[0]
    database = dict(variables("production")["eks_apps_database"], host="loyalty-db.cluster-xxxxx.us-west-2.rds.amazonaws.com")
    redis = dict(variables("production")["eks_apps_redis"], host="loyalty-redis.xxxxx.cache.amazonaws.com")
    problems = preflight_problems("production", eks_apps_database=database, eks_apps_redis=redis,
                                  eks_apps_network_policy_egress_cidrs=["10.0.0.0/16", "0.0.0.0/0"], **CERTIFICATE)
    assert [p.split(" is ")[0].split(" holds ")[0] for p in problems] == [
        "eks_apps_network_policy_egress_cidrs", "eks_apps_database.host", "eks_apps_redis.host"], problems
    assert "holds 0.0.0.0/0, wider than a /8" in problems[0] and "eks_apps_network_policy_allow_wide_egress: true" in problems[0]
    assert "the guide's placeholder" in problems[1] and all(where in p for p in problems)
    assert preflight_problems("production", eks_apps_network_policy_egress_cidrs=["0.0.0.0/0"], eks_apps_network_policy_allow_wide_egress=True,
                              **CERTIFICATE) == []
    # Elsewhere the same values are the environment's business.
    assert preflight_problems("staging", eks_apps_network_policy_egress_cidrs=["0.0.0.0/0"]) == []


def test_the_egress_default_is_the_vpc_cidr():
    default = _load(os.path.join(ROLE, "defaults", "main.yml"))["eks_apps_network_policy_egress_cidrs"]
    assert str(_resolve(default, {"aws_infra_vpc_cidr": "10.42.0.0/16"})) == str(["10.42.0.0/16"])
    assert str(_resolve(default, {})) == "[]"


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_without_infra_outputs_the_hosts_are_empty_and_the_preflight_says_where_they_come_from(environment, tmp_path):
    """No infra.yml run yet (no fact, no artifacts/infra-outputs.json): no placeholder host, a message instead."""
    problems = preflight_problems(environment, aws_infra_outputs=jinja2.Undefined(), inventory_dir=str(tmp_path),
                                  **(CERTIFICATE if environment == "production" else {}))
    assert [p.split()[0] for p in problems] == ["eks_apps_database.host", "eks_apps_redis.host"]
    assert all("playbooks/infra.yml" in p and "inventories/%s/group_vars/all/eks_apps.yml" % environment in p for p in problems)


def test_the_infra_outputs_file_gives_the_hosts_when_there_is_no_fact(tmp_path):
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "infra-outputs.json").write_text(json.dumps(INFRA_OUTPUTS["staging"]))
    context = variables("staging", aws_infra_outputs=jinja2.Undefined(), inventory_dir=str(tmp_path))
    assert context["eks_apps_database"]["host"] == INFRA_OUTPUTS["staging"]["database_address"]
    assert context["eks_apps_redis"]["host"] == INFRA_OUTPUTS["staging"]["redis_primary_endpoint"]


def test_the_preflight_reports_every_problem_at_once_naming_the_variable_and_file():
    problems = preflight_problems(
        "production",
        eks_apps_image_tag="latest",
        eks_apps_pdb_min_available=7,
        vault_loyalty_redis_password="",
        eks_apps_ingress_certificate_arn="none",
        eks_apps_network_policy_egress_cidrs=[],
        eks_apps_services=[{"name": "user-service"}, {"name": "Bad_Name"}, {"name": "user-service", "max_replicas": 3}],
    )
    assert len(problems) == 9, problems
    where = "inventories/production/group_vars/all/eks_apps.yml"
    expected = [
        'eks_apps_services: "Bad_Name" not a DNS-1123 label',
        "eks_apps_services lists user-service more than once",
        'vault_loyalty_service_credentials["Bad_Name"] has no db_username, db_password, jwt_secret',
        "vault_loyalty_redis_password is missing or empty: add it to inventories/production/group_vars/all/vault.yml",
        "replicas below eks_apps_pdb_min_available (7) for user-service (6), Bad_Name (6), user-service (6)",
        "HPA maximum below the minimum for user-service (replicas 6, max_replicas 3)",
        'image tags that cannot be released: user-service (image tag latest names no release and is refused in production), '
        'Bad_Name (image tag latest names no release and is refused in production), '
        'user-service (image tag latest names no release and is refused in production)',
        'eks_apps_ingress_certificate_arn is "none": production serves HTTPS only',
        "eks_apps_network_policy_egress_cidrs is empty",
    ]
    for fragment, problem in zip(expected, problems):
        assert fragment in problem, (fragment, problem)
    for problem in problems[4:]:
        assert where in problem, problem


@pytest.mark.parametrize("overrides, fragment", [
    pytest.param({"loyalty_environment": "prod"}, 'loyalty_environment (eks_apps_environment) is "prod": set it to one of production, staging, local',
                 id="environment"),
    pytest.param({"eks_apps_namespace": "Loyalty"}, 'eks_apps_namespace "Loyalty" is not a DNS-1123 label', id="namespace"),
    pytest.param({"eks_apps_namespace": "a" * 64}, "is not a DNS-1123 label", id="namespace-too-long"),
    pytest.param({"eks_apps_services": [{"name": "s" * 58}]}, "of at most 57 characters", id="service-name-too-long"),
    pytest.param({"eks_apps_ingress_host": ""}, "eks_apps_ingress_host is empty", id="ingress-host"),
    pytest.param({"eks_apps_image_tag": " "}, "image tags that cannot be released: user-service (no image tag is set)", id="blank-tag"),
])
def test_each_preflight_problem_alone(overrides, fragment):
    problems = preflight_problems("local", **overrides)
    assert len(problems) == 1 and fragment in problems[0], problems


def test_the_vault_and_tags_of_absent_services_are_not_required():
    services = [{"name": "user-service", "state": "absent", "image_tag": ""}]
    assert preflight_problems("production", eks_apps_services=services, vault_loyalty_jwt_secret="", **CERTIFICATE) == []
    assert preflight_problems("local", eks_apps_ingress_enabled=False, eks_apps_ingress_host="") == []
    assert preflight_problems("local", eks_apps_network_policy_enabled=False, eks_apps_network_policy_egress_cidrs=[]) == []


# ---- credentials per service, and the Secret's hash on the pod template -------------------------------------------


def test_each_service_gets_its_own_credentials_and_shares_only_what_is_listed():
    out = render_all("production")
    data = {name: decoded(find(out["secrets"], "Secret", name + "-secrets")) for name in SERVICES}
    assert {name: (values["database-username"], values["database-password"], values["jwt-secret"]) for name, values in data.items()} == {
        name: (own["db_username"], own["db_password"], own["jwt_secret"]) for name, own in SERVICE_CREDENTIALS.items()}
    assert {values["redis-password"] for values in data.values()} == {"unit-redis-pass/1"}
    assert len({values["database-username"] for values in data.values()}) == 4
    # A service's own value wins over a listed shared one; a field not listed never falls back.
    own = dict(SERVICE_CREDENTIALS, **{"point-service": dict(SERVICE_CREDENTIALS["point-service"], redis_password="point-redis-token")})
    mixed = render_all("production", vault_loyalty_service_credentials=own,
                       eks_apps_shared_credentials=["redis_password", "jwt_secret"])
    assert decoded(find(mixed["secrets"], "Secret", "point-service-secrets"))["redis-password"] == "point-redis-token"
    assert decoded(find(mixed["secrets"], "Secret", "user-service-secrets"))["redis-password"] == "unit-redis-pass/1"
    assert decoded(find(mixed["secrets"], "Secret", "user-service-secrets"))["jwt-secret"] == "unit-user-service-jwt"
    resolved = {svc["name"]: svc["credentials"] for svc in mixed["resolved"]}
    assert resolved["point-service"] == {"db_username": "own", "db_password": "own", "redis_password": "own", "jwt_secret": "own"}
    assert resolved["user-service"]["redis_password"] == "shared"


def test_the_sandbox_shares_every_credential_as_its_inventory_asks():
    out = render_all("local")
    for name in SERVICES:
        data = decoded(find(out["secrets"], "Secret", name + "-secrets"))
        assert (data["database-username"], data["jwt-secret"]) == ("unit-user", "unit-jwt-secret")
    assert variables("local")["eks_apps_shared_credentials"] == ["db_username", "db_password", "redis_password", "jwt_secret"]
    assert variables("production")["eks_apps_shared_credentials"] == variables("staging")["eks_apps_shared_credentials"] == ["redis_password"]


@pytest.mark.parametrize("environment", ["production", "staging", "local"])
def test_without_own_credentials_or_the_fallback_the_preflight_names_the_variable_and_the_fix(environment):
    overrides = dict(CERTIFICATE) if environment == "production" else {}
    problems = preflight_problems(environment, vault_loyalty_service_credentials={"user-service": SERVICE_CREDENTIALS["user-service"]},
                                  eks_apps_shared_credentials=[], **overrides)
    vault = "inventories/%s/group_vars/all/vault.yml" % environment
    switch = "eks_apps_shared_credentials (inventories/%s/group_vars/all/main.yml)" % environment
    # user-service has all but the Redis password; the other three have nothing of their own.
    assert [p.split(" has no ")[0] for p in problems] == ['vault_loyalty_service_credentials["%s"]' % name for name in SERVICES], problems
    assert problems[0].startswith('vault_loyalty_service_credentials["user-service"] has no redis_password: ')
    assert "list it in %s to give it the shared vault_loyalty_redis_password." % switch in problems[0]
    assert problems[1].startswith('vault_loyalty_service_credentials["point-service"] has no db_username, db_password, redis_password, '
                                  'jwt_secret: give the service credentials of its own in %s' % vault)
    assert "list them in %s" % switch in problems[1]
    for problem in problems:
        for value in secret_values():
            assert value not in problem


def test_a_shared_variable_is_needed_only_by_a_service_that_falls_back_on_it():
    everything = {name: dict(fields, redis_password="own-%s-token" % name) for name, fields in SERVICE_CREDENTIALS.items()}
    assert preflight_problems("production", vault_loyalty_service_credentials=everything, vault_loyalty_redis_password="",
                              vault_loyalty_db_username="", **CERTIFICATE) == []
    partial = dict(everything, **{"admin-service": SERVICE_CREDENTIALS["admin-service"]})
    problems = preflight_problems("production", vault_loyalty_service_credentials=partial, vault_loyalty_redis_password="", **CERTIFICATE)
    assert len(problems) == 1, problems
    assert problems[0].startswith("vault_loyalty_redis_password is missing or empty: add it to inventories/production/group_vars/all/vault.yml")
    assert "It is the redis_password of admin-service (eks_apps_shared_credentials lists redis_password, and it has none of its own)." in problems[0]
    # Only present services count.
    absent = [{"name": "user-service"}, {"name": "legacy-service", "state": "absent"}]
    assert preflight_problems("production", eks_apps_services=absent, **CERTIFICATE) == []


@pytest.mark.parametrize("credentials, fragment", [
    pytest.param("unit-not-a-mapping", "vault_loyalty_service_credentials is not a mapping: make it one entry per service name", id="not-a-mapping"),
    pytest.param(dict(SERVICE_CREDENTIALS, **{"user-service": "unit-a-password-by-mistake"}),
                 'vault_loyalty_service_credentials["user-service"] is not a mapping: give it the keys db_username, db_password, '
                 'redis_password, jwt_secret', id="entry-not-a-mapping"),
    pytest.param(dict(SERVICE_CREDENTIALS, **{"user-service": dict(SERVICE_CREDENTIALS["user-service"], db_pasword="unit-typo-value")}),
                 'vault_loyalty_service_credentials["user-service"] has unknown keys db_pasword: the keys are db_username, db_password, '
                 'redis_password, jwt_secret', id="unknown-key"),
])
def test_a_malformed_credentials_mapping_is_named_without_its_values(credentials, fragment):
    problems = preflight_problems("production", vault_loyalty_service_credentials=credentials, **CERTIFICATE)
    assert fragment in problems[0], problems
    for problem in problems:
        assert "unit-not-a-mapping" not in problem and "unit-a-password-by-mistake" not in problem and "unit-typo-value" not in problem


def pod_secret_hash(out, name):
    return find(out["objects"], "Deployment", name + "-blue")["spec"]["template"]["metadata"]["annotations"]["loyalty.platform/secret-sha256"]


def test_the_pod_template_carries_the_hash_of_the_whole_secret_and_never_a_value():
    out = render_all("production")
    for name in SERVICES:
        secret = find(out["secrets"], "Secret", name + "-secrets")
        digest = pod_secret_hash(out, name)
        assert digest == secret["metadata"]["annotations"]["loyalty.platform/secret-hash"] == secret_hash(secret["data"])
        # Not a hash of any one value (which a low-entropy value would let anyone who reads pods guess), nor a value.
        for value in list(decoded(secret).values()) + list(secret["data"].values()):
            assert value not in digest and hashlib.sha256(value.encode()).hexdigest() != digest
    assert len({pod_secret_hash(out, name) for name in SERVICES}) == 4


def test_a_rotated_credential_changes_only_its_service_s_pod_template():
    before = render_all("production")
    rotated = dict(SERVICE_CREDENTIALS, **{"point-service": dict(SERVICE_CREDENTIALS["point-service"], db_password="unit-rotated-db")})
    after = render_all("production", vault_loyalty_service_credentials=rotated)
    assert pod_secret_hash(after, "point-service") != pod_secret_hash(before, "point-service")
    for name in ("user-service", "rewards-service", "admin-service"):
        assert find(after["objects"], "Deployment", name + "-blue") == find(before["objects"], "Deployment", name + "-blue")
    # A shared value rolls every service that uses it; the same inputs render the same pod templates.
    shared = render_all("production", vault_loyalty_redis_password="unit-rotated-redis")
    assert all(pod_secret_hash(shared, name) != pod_secret_hash(before, name) for name in SERVICES)
    assert render_all("production")["objects"] == before["objects"]


def test_the_schema_check_s_secrets_need_no_vault_variable():
    """Rendered with placeholders, the Secrets need no vault variable at all: StrictUndefined fails on any it reads."""
    context = variables("production")
    context["_eks_apps_resolved"] = yaml.safe_load(render("services.yml.j2", context))
    for name in list(SECRETS) + ["vault_loyalty_service_credentials"]:
        del context[name]
    shapes = list(yaml.safe_load_all(render("secrets.yml.j2", dict(context, _eks_apps_secret_placeholders_only=True))))
    assert len(shapes) == 4 and {value for shape in shapes for value in decoded(shape).values()} >= {"placeholder"}


def test_application_yml_turns_on_the_request_histogram_the_latency_alert_reads():
    """loyalty.platform.monitoring's HighLatency reads http_server_requests_seconds_bucket: Spring Boot exposes the
    buckets only with the percentiles histogram of http.server.requests switched on."""
    configmap = find(render_all("production")["objects"], "ConfigMap", "point-service-blue-config")
    application = yaml.safe_load(configmap["data"]["application.yml"])
    metrics = application["management"]["metrics"]
    assert metrics["distribution"]["percentiles-histogram"]["http.server.requests"] is True
    assert metrics["export"]["prometheus"]["enabled"] is True


@pytest.mark.parametrize("environment", ["production", "staging", "local"])
def test_the_log_format_is_the_one_the_log_pipeline_parses(environment):
    """One source: application.yml carries the collection's log_pattern and ECS structured logging, from which
    loyalty.platform.logging_elk derives its grok (the real engine parses such lines in tests/logging)."""
    from ansible_collections.loyalty.platform.plugins.module_utils import logformat  # pylint: disable=import-outside-toplevel

    objects = render_all(environment)["objects"]
    config = yaml.safe_load(find(objects, "ConfigMap", "user-service-blue-config")["data"]["application.yml"])
    assert config["logging"]["pattern"]["console"] == logformat.LOG_PATTERN
    assert config["logging"]["structured"]["format"]["console"] == "ecs"
    assert logformat.pipeline_spec(config["logging"]["pattern"]["console"]) == logformat.pipeline_spec()
