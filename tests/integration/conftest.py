"""Fixtures for integration tests: they run against the sandbox started by `make sandbox-up`.

Endpoints and credentials come from `.sandbox/env`; nothing here talks to anything but 127.0.0.1.
"""

import json
import os
import shlex
import subprocess
import time
import uuid

import pytest
from psycopg2 import sql

from backuplib import drop_database, empty_bucket, new_name, pg_exec, previous_databases, s3_client, staging_databases
from kubesandbox.control import Control

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX_ENV_FILE = os.path.join(REPO_ROOT, ".sandbox", "env")
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")


def read_sandbox_env(path=SANDBOX_ENV_FILE):
    """Parse the `export NAME=value` lines that `make sandbox-up` writes."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line.startswith("export "):
                continue
            name, raw = line[len("export "):].split("=", 1)
            parts = shlex.split(raw)
            values[name] = parts[0] if parts else ""
    return values


@pytest.fixture(scope="session")
def sandbox():
    if not os.path.exists(SANDBOX_ENV_FILE):
        pytest.fail("the sandbox is not running: start it with `make sandbox-up` (missing %s)" % SANDBOX_ENV_FILE)
    values = read_sandbox_env()
    # A second test process beside the first (`make integration`) sources .sandbox/lane2/env, which names itself in
    # SANDBOX_LANE_ENV: its overrides (the fault proxy's second listener) win over .sandbox/env's.
    lane = os.environ.get("SANDBOX_LANE_ENV")
    if lane:
        values.update(read_sandbox_env(lane))
    return values


RBAC_FILES = [os.path.join(REPO_ROOT, "roles", role, "files", "rbac.yml") for role in ("eks_apps", "bluegreen_deploy", "monitoring", "logging_elk")]
DEPLOYER_NAMESPACE = "loyalty-platform-ci"
DEPLOYER = "loyalty-deployer"
# The sandbox's Prometheus as an in-cluster Service (SANDBOX_PROMETHEUS_SERVICE in .sandbox/env).
PROMETHEUS_NAMESPACE = "monitoring"
# Bound in every test namespace (RoleBinding); loyalty-platform:namespaces is bound cluster-wide.
NAMESPACED_ROLES = ("loyalty-platform:eks-apps", "loyalty-platform:bluegreen", "loyalty-platform:monitoring")


def _apply(kube_client, body):
    """Create or replace one object as the cluster admin."""
    from kubernetes.dynamic.exceptions import ConflictError  # pylint: disable=import-outside-toplevel

    api = kube_client.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    namespace = body["metadata"].get("namespace")
    try:
        api.create(body=body, namespace=namespace)
    except ConflictError:
        api.patch(body=body, name=body["metadata"]["name"], namespace=namespace, content_type="application/merge-patch+json")


@pytest.fixture(scope="session")
def deployer_kubeconfig(sandbox, kube_client, tmp_path_factory):
    """A kubeconfig for the ServiceAccount the playbooks run as, bound to the collection's RBAC only.

    The ClusterRoles come from the roles' files/rbac.yml; loyalty-platform:namespaces is bound cluster-wide
    and the namespaced ones in each test namespace (the `namespace` fixture), as the roles' READMEs describe."""
    import yaml  # pylint: disable=import-outside-toplevel

    for path in RBAC_FILES:
        with open(path, encoding="utf-8") as handle:
            for item in yaml.safe_load(handle)["items"]:
                _apply(kube_client, item)
    _apply(kube_client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEPLOYER_NAMESPACE}})
    _apply(kube_client, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEPLOYER, "namespace": DEPLOYER_NAMESPACE}})
    _apply(kube_client, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "loyalty-platform-ci:namespaces"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "loyalty-platform:namespaces"},
        "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": DEPLOYER_NAMESPACE}],
    })
    # The gates query the sandbox's Prometheus Service (monitoring/prometheus-server) through the services proxy.
    _apply(kube_client, deployer_binding(PROMETHEUS_NAMESPACE, "loyalty-platform:prometheus-gates", "loyalty-platform-ci:prometheus-gates"))
    token_api = kube_client.resources.get(api_version="v1", kind="ServiceAccount").subresources["token"]
    token = token_api.create(body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 6 * 3600}},
                             name=DEPLOYER, namespace=DEPLOYER_NAMESPACE).status.token
    with open(sandbox["K8S_AUTH_KUBECONFIG"], encoding="utf-8") as handle:
        config = json.load(handle)
    config["users"] = [{"name": DEPLOYER, "user": {"token": token}}]
    config["contexts"] = [{"name": "sandbox", "context": {"cluster": config["clusters"][0]["name"], "user": DEPLOYER}}]
    path = tmp_path_factory.mktemp("deployer") / "kubeconfig"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return str(path)


@pytest.fixture(scope="session")
def deployer_client(deployer_kubeconfig):
    from kubernetes import config  # pylint: disable=import-outside-toplevel
    from kubernetes.dynamic import DynamicClient  # pylint: disable=import-outside-toplevel

    return DynamicClient(config.new_client_from_config(config_file=deployer_kubeconfig))


@pytest.fixture(scope="session")
def ansible_env(sandbox, deployer_kubeconfig):
    env = dict(os.environ)
    env.update(sandbox)
    # Playbooks and modules run as the deployer ServiceAccount, never as the cluster admin.
    env["K8S_AUTH_KUBECONFIG"] = env["KUBECONFIG"] = deployer_kubeconfig
    env["ANSIBLE_CONFIG"] = os.path.join(REPO_ROOT, "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    return env


class PlaybookResult:
    """Outcome of one ansible-playbook run, parsed from the json callback."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = {}
        start = proc.stdout.find("{")
        if start >= 0:
            try:
                self.data = json.loads(proc.stdout[start:])
            except ValueError:
                self.data = {}

    @property
    def stats(self):
        return self.data.get("stats", {})

    def changed(self, host="localhost"):
        return self.stats.get(host, {}).get("changed")

    def failures(self, host="localhost"):
        return self.stats.get(host, {}).get("failures", 0)

    def failed_message(self, host="localhost"):
        """The message of the task that failed the play (the last failure: an earlier one may have been rescued),
        with the messages of its failed loop items."""
        messages = [str(task["hosts"][host].get("msg", "")) + "".join(str(item.get("msg", "")) for item in task["hosts"][host].get("results", []))
                    for play in self.data.get("plays", []) for task in play.get("tasks", []) if task["hosts"].get(host, {}).get("failed")]
        return messages[-1] if messages else ""

    def changed_tasks(self, host="localhost"):
        """Names of the tasks that reported a change."""
        return [task["task"]["name"] for play in self.data.get("plays", []) for task in play.get("tasks", [])
                if task["hosts"].get(host, {}).get("changed")]

    def task_results(self, name, host="localhost"):
        """Results of every task called `name` (a list, since a play may run a task more than once)."""
        found = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == name and host in task["hosts"]:
                    found.append(task["hosts"][host])
        return found

    def task_result(self, name, host="localhost"):
        results = self.task_results(name, host)
        assert results, "no task named %r ran; output:\n%s\n%s" % (name, self.stdout[-4000:], self.stderr[-2000:])
        return results[-1]


@pytest.fixture(scope="session")
def run_playbook(ansible_env, tmp_path_factory):
    """Run a playbook (a path, or YAML text) and return a PlaybookResult."""
    workdir = tmp_path_factory.mktemp("playbooks")

    def _run(playbook, extra_vars=None, check=False, diff=False, inventory=None, limit=None, env=None, args=()):
        if "\n" in playbook:
            path = workdir / ("play-%s.yml" % uuid.uuid4().hex[:8])
            path.write_text(playbook, encoding="utf-8")
            playbook = str(path)
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), playbook]
        cmd += ["-i", inventory or "localhost,"]
        if inventory is None:
            cmd += ["-c", "local", "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python")]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        cmd += list(args)
        run_env = dict(ansible_env)
        run_env.update(env or {})
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=run_env, capture_output=True, text=True, check=False)
        return PlaybookResult(proc)

    return _run


@pytest.fixture(scope="session")
def kube_sandbox(sandbox):
    """The fault proxy's control endpoint: faults, request counts, the ready delay, HPA decisions."""
    return Control(sandbox)


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    """A fault injected by one test must never leak into the next."""
    yield
    if "kube_sandbox" in request.fixturenames:
        request.getfixturevalue("kube_sandbox").remove_mine()


@pytest.fixture(scope="session")
def kube_client(sandbox):
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(config.new_client_from_config(config_file=sandbox["K8S_AUTH_KUBECONFIG"]))


@pytest.fixture
def kube_apply(kube_client):
    """Create or replace objects as the cluster admin (what a test sets up around the collection)."""

    def _run(*bodies):
        for body in bodies:
            _apply(kube_client, body)

    return _run


def deployer_binding(namespace, cluster_role, name=None):
    """A RoleBinding of one of the collection's ClusterRoles to the deployer in ``namespace``."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name or cluster_role.replace(":", "-"), "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": DEPLOYER_NAMESPACE}],
    }


@pytest.fixture
def grant(kube_apply):
    """grant(namespace, cluster_role): bind one of the collection's ClusterRoles to the deployer there."""
    return lambda namespace, cluster_role: kube_apply(deployer_binding(namespace, cluster_role))


@pytest.fixture
def namespace(kube_client, deployer_kubeconfig):  # pylint: disable=unused-argument
    """A fresh namespace per test, deleted afterwards, where the deployer holds the namespaced ClusterRoles
    (deployer_kubeconfig makes them exist first)."""
    name = "it-" + uuid.uuid4().hex[:10]
    api = kube_client.resources.get(api_version="v1", kind="Namespace")
    api.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for role in NAMESPACED_ROLES:
        _apply(kube_client, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": role.replace(":", "-"), "namespace": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": DEPLOYER_NAMESPACE}],
        })
    # The controllers add the default ServiceAccount and the kube-root-ca.crt ConfigMap shortly after: wait
    # for them, so that a test's "before" listing is the namespace as it stays.
    deadline = time.monotonic() + 30
    for api_version, kind, wanted in (("v1", "ServiceAccount", "default"), ("v1", "ConfigMap", "kube-root-ca.crt")):
        resource = kube_client.resources.get(api_version=api_version, kind=kind)
        while wanted not in [item.metadata.name for item in resource.get(namespace=name).items]:
            assert time.monotonic() < deadline, "%s %s never appeared in namespace %s" % (kind, wanted, name)
            time.sleep(0.1)
    yield name
    api.delete(name=name)


# ---- the backup suites: a bucket and databases of each test's own ------------------------------


@pytest.fixture(scope="session")
def s3(sandbox):
    return s3_client(sandbox)


@pytest.fixture
def bucket(s3):
    """A bucket of this test's own, emptied (uploads aborted) and deleted afterwards."""
    name = "it-backup-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    yield name
    empty_bucket(s3, name)


@pytest.fixture
def databases(sandbox):
    """Make databases by name (``make(name)`` returns it); every one, and its staging and kept copies, dropped afterwards."""
    made = []

    def make(name=None, create=True):
        name = name or new_name()
        made.append(name)
        if create:
            pg_exec(sandbox, "postgres", sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    yield make
    for name in made:
        for other in staging_databases(sandbox, name) + previous_databases(sandbox, name) + [name]:
            drop_database(sandbox, other)
