"""Client of moto's /_sandbox/pending control (motofix.pending), for tests and benchmarks.

  moto = MotoFix(env["SANDBOX_MOTO_URL"])        # or the AWS front's URL: it passes /_sandbox/pending to moto
  moto.set_pending("rds", 20)                    # new, modified and deleted DB instances stay pending 20 s
  moto.set_pending("eks", 5, actions=["create"])
  ... the role's waits now wait ...
  moto.clear()                                   # no delays any more
  moto.settle()                                  # and whatever is still pending is done now

Services: rds (DB instances), elasticache (replication groups and their cache clusters), eks (clusters and node
groups), ec2 (NAT gateways). Transitions happen when moto handles a request after their time has come.
"""

import urllib.parse

import requests


class MotoFix:
    """The pending delays of the sandbox's moto server."""

    def __init__(self, base_url, timeout=30):
        host = urllib.parse.urlsplit(base_url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("moto is on 127.0.0.1, not at %s" % base_url)
        self.url = base_url.rstrip("/") + "/_sandbox/pending"
        self.timeout = timeout
        self.session = requests.Session()
        # Plain http on 127.0.0.1: no proxy or CA bundle from the environment applies.
        self.session.trust_env = False

    @classmethod
    def from_env(cls, env):
        """moto as named by the values `.sandbox/env` exports."""
        return cls(env["SANDBOX_MOTO_URL"])

    def _call(self, method, path="", body=None):
        response = self.session.request(method, self.url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise requests.HTTPError("%s /_sandbox/pending%s: %s %s" % (method, path, response.status_code, response.text), response=response)
        return response.json()

    def pending(self):
        """{"rds": {"seconds": 20.0, "actions": ["create", "modify", "delete"]}, ...}: the delays in force."""
        return self._call("GET")["pending"]

    def waiting(self):
        """How many transitions are still due."""
        return self._call("GET")["waiting"]

    def set_pending(self, service, seconds, actions=None):
        """Keep what ``service`` creates, modifies or deletes (or only the ``actions`` named) pending ``seconds``; 0 stops it."""
        body = {"service": service, "seconds": seconds}
        if actions is not None:
            body["actions"] = list(actions)
        return self._call("POST", body=body)["pending"]

    def clear(self, service=None):
        """No delay for ``service`` (every service when None); what is pending still waits for its time."""
        return self._call("DELETE", "/" + service if service else "")["pending"]

    def settle(self):
        """Every pending transition happens now (resources become available, deleted ones go)."""
        return self._call("POST", "/settle")["pending"]
