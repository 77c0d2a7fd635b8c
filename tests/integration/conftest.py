"""Fixtures for integration tests: they run against the sandbox started by `make sandbox-up`.

Endpoints and credentials come from `.sandbox/env`; nothing here talks to anything but 127.0.0.1.
"""

import json
import os
import shlex
import subprocess
import uuid

import pytest
import requests

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
    return read_sandbox_env()


@pytest.fixture(scope="session")
def ansible_env(sandbox):
    env = dict(os.environ)
    env.update(sandbox)
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


class Emulator:
    """Client for the Kubernetes emulator's control endpoint (fault injection, request counts)."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + token
        self.fault_ids = []

    def _call(self, method, path, body=None):
        response = self.session.request(method, self.url + "/_emulator/" + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}

    def fault(self, **spec):
        created = self._call("POST", "faults", spec)
        self.fault_ids.append(created["id"])
        return created

    def clear_faults(self):
        """Remove the faults this client injected (never another suite's)."""
        while self.fault_ids:
            fault_id = self.fault_ids.pop()
            response = self.session.delete("%s/_emulator/faults/%s" % (self.url, fault_id), timeout=10)
            if response.status_code not in (200, 204, 404):
                response.raise_for_status()

    def stats(self):
        return self._call("GET", "stats")

    def reset_stats(self):
        return self._call("POST", "stats/reset")

    def configure(self, **settings):
        return self._call("POST", "config", settings)

    def set_hpa(self, namespace, name, replicas):
        return self._call("POST", "hpa", {"namespace": namespace, "name": name, "replicas": replicas})


@pytest.fixture(scope="session")
def emulator(sandbox):
    return Emulator(sandbox["KUBEEMU_URL"], sandbox["KUBEEMU_TOKEN"])


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    """A fault injected by one test must never leak into the next."""
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_faults()


@pytest.fixture(scope="session")
def kube_client(sandbox):
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(config.new_client_from_config(config_file=sandbox["K8S_AUTH_KUBECONFIG"]))


@pytest.fixture
def namespace(kube_client):
    """A fresh namespace per test, deleted afterwards."""
    name = "it-" + uuid.uuid4().hex[:10]
    api = kube_client.resources.get(api_version="v1", kind="Namespace")
    api.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    api.delete(name=name)
