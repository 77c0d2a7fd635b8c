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
        return self._call("POST", "config", settings)

    def set_hpa(self, namespace, name, replicas):
        """Act as the autoscaler deciding on ``replicas`` for the HPA ``name``."""
        return self._call("POST", "hpa", {"namespace": namespace, "name": name, "replicas": replicas})
