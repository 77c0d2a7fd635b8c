"""Client of the fault proxy's /_sandbox endpoint, for tests and benchmarks.

It reads the endpoint, the CA and the token from the values `.sandbox/env` exports, verifies the
proxy's certificate against the sandbox CA, and remembers the faults it added so that it removes
only its own (other suites may share the sandbox).
"""

import requests


class Control:
    """Faults, request statistics and settings of the sandbox's Kubernetes."""

    def __init__(self, env):
        self.url = env["SANDBOX_K8S_URL"].rstrip("/") + "/_sandbox/"
        self.ca = env["SANDBOX_K8S_CA"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + env["SANDBOX_K8S_TOKEN"]
        self.ids = []

    def _call(self, method, path, body=None):
        # verify= on each call: a REQUESTS_CA_BUNDLE in the environment would override the session's.
        response = self.session.request(method, self.url + path, json=body, timeout=30, verify=self.ca)
        response.raise_for_status()
        return response.json() if response.content else {}

    def fault(self, **spec):
        """Add a fault (see kubesandbox.faults) and remember it for remove_mine()."""
        created = self._call("POST", "faults", spec)
        self.ids.append(created["id"])
        return created

    add = fault

    def active(self):
        """Ids of the faults active now, whoever added them."""
        return set(fault["id"] for fault in self._call("GET", "faults")["faults"])

    def remove_mine(self):
        """Remove the faults this client added, and no others."""
        while self.ids:
            fault_id = self.ids.pop()
            response = self.session.delete(self.url + "faults/" + fault_id, timeout=30, verify=self.ca)
            if response.status_code not in (200, 204, 404):
                response.raise_for_status()

    clear_faults = remove_mine

    def stats(self):
        return self._call("GET", "stats")

    def reset_stats(self):
        return self._call("POST", "stats/reset")

    def configure(self, **settings):
        """Change run-time settings (ready_delay, traffic_rps; see kubesandbox.faults); returns them all."""
        return self._call("POST", "config", settings)

    def settings(self):
        """The run-time settings now."""
        return self._call("GET", "config")

    def pod_http(self, namespace, name, status, scope="all"):
        """Pods of ``name`` answer HTTP with ``status``: on every path (scope "all"), or on the application's paths
        only while /actuator/* (metrics, health) answer as before (scope "requests")."""
        return self.fault(type="pod_http", namespace=namespace, name=name, status=status, scope=scope)

    def pod_down(self, namespace, name):
        """Connections to the pods of ``name`` are closed without an answer (a scrape of them fails)."""
        return self.fault(type="pod_down", namespace=namespace, name=name)

    def traffic(self, rps):
        """Every Running pod records ``rps`` synthetic requests a second (0 stops them); returns the settings."""
        return self.configure(traffic_rps=rps)

    def set_hpa(self, namespace, name, replicas):
        """Act as the autoscaler deciding on ``replicas`` for the HPA ``name``."""
        return self._call("POST", "hpa", {"namespace": namespace, "name": name, "replicas": replicas})
