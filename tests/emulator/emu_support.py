"""Helpers shared by the kubeemu tests: starting the emulator, raw HTTP, manifests."""

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "sandbox"
BIN = Path(sys.executable).parent
TEST_READY_DELAY = 0.05

if str(SANDBOX) not in sys.path:
    sys.path.insert(0, str(SANDBOX))


def start_emulator(token, log_file=None, ready_delay=TEST_READY_DELAY):
    """Start ``python -m kubeemu`` on a free port; returns (process, port)."""
    cmd = [sys.executable, "-m", "kubeemu", "--host", "127.0.0.1", "--port", "0", "--token", token, "--ready-delay", str(ready_delay)]
    if log_file:
        cmd += ["--log-file", str(log_file)]
    env = dict(os.environ, PYTHONPATH=str(SANDBOX))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)  # pylint: disable=consider-using-with
    line = proc.stdout.readline().strip()
    if not line.startswith("kubeemu listening on http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError("emulator did not start: %r" % line)
    return proc, int(line.rsplit(":", 1)[1])


class Emulator:
    """Handle on the running emulator: URLs, token, kubeconfig and small HTTP helpers."""

    def __init__(self, port, token, kubeconfig, log_file):
        self.port = port
        self.token = token
        self.url = "http://127.0.0.1:%d" % port
        self.kubeconfig = str(kubeconfig)
        self.log_file = log_file

    def http(self, method, path, body=None, content_type="application/json", token=True, headers=None):
        """Raw request; returns (status, decoded JSON or text)."""
        status, data, unused_headers = self.http_full(method, path, body, content_type, token, headers)
        return status, data

    def body(self, method, path, body=None, content_type="application/json"):
        """Raw request; returns only the decoded body."""
        return self.http(method, path, body, content_type)[1]

    def http_full(self, method, path, body=None, content_type="application/json", token=True, headers=None):
        """Raw request; returns (status, decoded JSON or text, response headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = "Bearer " + (self.token if token is True else token)
        payload = None
        if body is not None:
            payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
            all_headers["Content-Type"] = content_type
        conn.request(method, path, body=payload, headers=all_headers)
        resp = conn.getresponse()
        data = resp.read().decode()
        conn.close()
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = data
        return resp.status, parsed, dict(resp.getheaders())

    def control(self, method, path, body=None):
        """Call /_emulator/<path> and return the JSON answer (asserting success)."""
        status, data = self.http(method, "/_emulator/" + path, body)
        assert status < 300, (status, data)
        return data

    @staticmethod
    def wait_for(predicate, timeout=5.0, interval=0.02, message="condition"):
        """Poll until predicate() is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % message)
            time.sleep(interval)


def write_kubeconfig(path, url, token):
    """A kubeconfig for the emulator (plain HTTP, bearer token)."""
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "kubeemu", "cluster": {"server": url}}],
        "users": [{"name": "kubeemu", "user": {"token": token}}],
        "contexts": [{"name": "kubeemu", "context": {"cluster": "kubeemu", "user": "kubeemu"}}],
        "current-context": "kubeemu",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def deployment(name, replicas=2, labels=None, image="registry.local/loyalty/app:1.0.0", extra_pod_labels=None):
    """A Deployment manifest used across tests."""
    labels = labels or {"app": name}
    pod_labels = dict(labels, **(extra_pod_labels or {}))
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080, "name": "http"}],
                                         "env": [{"name": "SPRING_PROFILES_ACTIVE", "value": "prod"}]}]},
            },
        },
    }


def service(name, selector, port=80, target="http"):
    """A Service manifest."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": dict(selector), "ports": [{"name": "http", "port": port, "targetPort": target}]}}
