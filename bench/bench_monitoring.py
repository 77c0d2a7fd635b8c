"""playbooks/monitoring.yml: time until changed rules are loaded, and time from a failure to its alert at a receiver.

1. Apply. Ours: playbooks/monitoring.yml with one threshold changed, on the sandbox's Prometheus (standalone
   target): rendered, checked by promtool and amtool, written, reloaded, the reload confirmed. It returns only once
   Prometheus runs the new rules. Baseline: bench/monitoring_naive.yml, the rules file written unchecked and
   Prometheus told to reload, then polled until the new rules are loaded. Ratio: ours / baseline.
2. Alert latency. The four services deployed by eks_apps in a fresh namespace, scraped through discovery; the
   pods' HTTP stand-in then answers 5xx to point-service's requests. Measured: from the fault to HighErrorRate's
   notification at a webhook receiver. Lower bound: the rule's `for:` (2m) plus one scrape interval (10s) and one
   evaluation interval (15s). Ratio: measured / lower bound. (The objective is lowered to 50 % there: at 99.9 %
   the critical burn-rate alert, as fast, inhibits the warning.)

Headline (baseline / ours / ratio): the apply, wall seconds.
"""

import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from benchlib import Control, run_playbook, run_standalone  # noqa: E402  pylint: disable=wrong-import-position

OURS = os.path.join(REPO_ROOT, "playbooks", "monitoring.yml")
BASELINE = os.path.join(BENCH_DIR, "monitoring_naive.yml")
ROUNDS = 3


def _rule_threshold(ctx):
    groups = requests.get(ctx.sandbox["PROMETHEUS_URL"] + "/api/v1/rules", timeout=10).json()["data"]["groups"]
    for group in groups:
        for rule in group["rules"]:
            if rule["name"] == "HighErrorRate":
                return rule["query"].rsplit(">", 1)[1].strip()
    return None


def _wait_loaded(ctx, threshold, timeout=60):
    deadline = time.monotonic() + timeout
    while _rule_threshold(ctx) != threshold:
        if time.monotonic() > deadline:
            raise RuntimeError("Prometheus did not load the threshold %s" % threshold)
        time.sleep(0.02)


def _apply(ctx, playbook, threshold, extra=()):
    started = time.perf_counter()
    run_playbook(ctx, playbook, ["-e", json.dumps({"monitoring_error_rate_threshold": threshold})] + list(extra))
    _wait_loaded(ctx, str(threshold))
    return time.perf_counter() - started


class _Receiver(BaseHTTPRequestHandler):
    got = {}

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for alert in body["alerts"]:
            key = (alert["labels"].get("alertname"), alert["labels"].get("namespace"), alert["status"])
            self.got.setdefault(key, time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        return


def _alert_latency(ctx, env_hook):
    namespace = "bench-mon-" + uuid.uuid4().hex[:8]
    control = Control(ctx.sandbox)
    run_playbook(ctx, os.path.join(REPO_ROOT, "playbooks", "apps.yml"),
                 ["-e", json.dumps({"eks_apps_namespace": namespace, "eks_apps_replicas": 1, "eks_apps_autoscaling_enabled": False})])
    os.environ["SANDBOX_ALERT_WEBHOOK_URL"] = env_hook
    try:
        # At the default 99.9 % objective the critical burn-rate alert of the same service inhibits the
        # HighErrorRate warning (both wait 2m): the objective is lowered so that the warning is what is sent.
        run_playbook(ctx, OURS, ["-e", json.dumps({"monitoring_apps_namespace": namespace, "monitoring_slo_availability_objective": 0.5})])
        control.configure(traffic_rps=5)
        query = 'count(up{job="loyalty-pods",namespace="%s"} == 1)' % namespace
        deadline = time.monotonic() + 120
        while True:
            result = requests.get(ctx.sandbox["PROMETHEUS_URL"] + "/api/v1/query", params={"query": query}, timeout=10).json()["data"]["result"]
            if result and result[0]["value"][1] == "4":
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the pods of %s were not scraped" % namespace)
            time.sleep(1)
        time.sleep(30)  # a healthy rate window before the fault
        control.fault(type="pod_http", namespace=namespace, name="point-service-blue", status=500, scope="requests")
        started = time.monotonic()
        key = ("HighErrorRate", namespace, "firing")
        while key not in _Receiver.got:
            if time.monotonic() - started > 400:
                raise RuntimeError("HighErrorRate did not reach the receiver")
            time.sleep(0.2)
        return _Receiver.got[key] - started
    finally:
        control.remove_mine()
        control.configure(traffic_rps=0)
        os.environ.pop("SANDBOX_ALERT_WEBHOOK_URL", None)
        requests.delete("%s/api/v1/namespaces/%s" % (ctx.sandbox["SANDBOX_K8S_URL"].rstrip("/"), namespace),
                        headers={"Authorization": "Bearer " + ctx.sandbox["SANDBOX_K8S_TOKEN"]}, verify=ctx.sandbox["SANDBOX_K8S_CA"], timeout=30)


def run(ctx):
    # The role's files in place first, so each round changes one threshold only.
    run_playbook(ctx, OURS)
    ours, baseline = [], []
    for index in range(ROUNDS):
        baseline.append(_apply(ctx, BASELINE, round(0.05 + 0.001 * (2 * index + 1), 3)))
        ours.append(_apply(ctx, OURS, round(0.05 + 0.001 * (2 * index + 2), 3)))
    run_playbook(ctx, OURS)  # back to the defaults

    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        latency = _alert_latency(ctx, "http://127.0.0.1:%d/bench" % server.server_port)
    finally:
        server.shutdown()
        run_playbook(ctx, OURS)
    bound = 120 + 10 + 15
    return {
        "baseline": round(min(baseline), 3),
        "ours": round(min(ours), 3),
        "ratio": round(min(ours) / min(baseline), 2),
        "alert_seconds": round(latency, 1),
        "alert_lower_bound_seconds": bound,
        "alert_ratio": round(latency / bound, 2),
    }


if __name__ == "__main__":
    run_standalone(run)
