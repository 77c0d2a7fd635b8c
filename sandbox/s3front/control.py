"""Client of the AWS front's /_sandbox endpoint, for tests and benchmarks.

  front = S3Front(env["SANDBOX_AWS_FRONT_URL"])
  front.add_fault(operation="UploadPart", bucket="backups", after=1, count=1)
  ... the second UploadPart to that bucket answers 500 InternalError ...
  front.stats()["operations"]["UploadPart"]

botocore retries a 500, a 503 and a dropped connection (standard mode, its default: 3 attempts in all;
legacy mode 5), and every retry is a request the front counts and a fault may fail again. A test that
wants an operation to fail for good either gives its client Config(retries={"total_max_attempts": 1})
(botocore's "max_attempts" counts the retries only: {"max_attempts": 1} still retries once) or injects
a count at least as large as the attempts its client makes; a test of the retries themselves injects
fewer. Most 4xx errors are not retried.
"""

import urllib.parse

import requests


class S3Front:
    """Faults and request statistics of the sandbox's AWS front."""

    def __init__(self, base_url, timeout=30):
        host = urllib.parse.urlsplit(base_url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the AWS front is on 127.0.0.1, not at %s" % base_url)
        self.url = base_url.rstrip("/") + "/_sandbox/"
        self.timeout = timeout
        self.session = requests.Session()
        # Plain http on 127.0.0.1: no proxy or CA bundle from the environment applies.
        self.session.trust_env = False

    @classmethod
    def from_env(cls, env):
        """The front named by the values `.sandbox/env` exports."""
        return cls(env["SANDBOX_AWS_FRONT_URL"])

    def _call(self, method, path, body=None):
        response = self.session.request(method, self.url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise requests.HTTPError("%s %s: %s %s" % (method, path, response.status_code, response.text), response=response)
        return response.json()

    def add_fault(self, **spec):
        """Add a fault (see s3front.faults for its fields); returns it with its "id"."""
        return self._call("POST", "faults", spec)

    def faults(self):
        """Every fault, with how many matching requests it saw ("seen") and failed ("fired")."""
        return self._call("GET", "faults")["faults"]

    def remove_fault(self, fault_id):
        self._call("DELETE", "faults/" + fault_id)

    def clear_faults(self):
        self._call("DELETE", "faults")

    def stats(self):
        """{"operations": {"UploadPart": n, ...}, "total": n, "faulted": n} since the last reset."""
        return self._call("GET", "stats")

    def reset_stats(self):
        return self._call("POST", "stats/reset")
