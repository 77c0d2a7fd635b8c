"""How much the Kubernetes emulator costs per API request, against a bare HTTP server in the same run.

Ours: GET of one Service and a label-selected LIST of Pods from the sandbox emulator.
Baseline: the same requests answered by a minimal ThreadingHTTPServer that returns a canned body,
so the ratio is the emulator's own overhead (routing, store, selectors, serialisation).
"""

import http.server
import os
import sys
import threading
import time
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import run_standalone  # noqa: E402  pylint: disable=wrong-import-position

ROUNDS = 300


class _Canned(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the emulator does: no delayed-ACK stall on keep-alive
    body = b"{}"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):  # quiet
        pass


def _time_requests(session, url, rounds):
    started = time.perf_counter()
    for _round in range(rounds):
        session.get(url, timeout=10).raise_for_status()
    return (time.perf_counter() - started) / rounds


def run(ctx):
    base = ctx.sandbox["KUBEEMU_URL"].rstrip("/")
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + ctx.sandbox["KUBEEMU_TOKEN"]
    ns = "bench-emu-" + uuid.uuid4().hex[:6]
    session.post(base + "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).raise_for_status()
    try:
        session.post(base + "/api/v1/namespaces/%s/services" % ns, json={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "a"}, "ports": [{"port": 8080}]}}).raise_for_status()
        for i in range(100):
            session.post(base + "/api/v1/namespaces/%s/configmaps" % ns, json={
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-%d" % i, "labels": {"group": str(i % 4)}},
                "data": {"k": "v" * 200}}).raise_for_status()
        get_url = base + "/api/v1/namespaces/%s/services/svc" % ns
        list_url = base + "/api/v1/namespaces/%s/configmaps?labelSelector=group%%3D1" % ns
        get_body = session.get(get_url).content
        list_body = session.get(list_url).content

        figures = {}
        for label, url, body in (("get", get_url, get_body), ("list_selected", list_url, list_body)):
            handler = type("Canned", (_Canned,), {"body": body})
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                baseline = _time_requests(requests.Session(), "http://127.0.0.1:%d/x" % server.server_address[1], ROUNDS)
            finally:
                server.shutdown()
                server.server_close()
            ours = _time_requests(session, url, ROUNDS)
            figures["%s_baseline_ms" % label] = round(baseline * 1000, 3)
            figures["%s_ours_ms" % label] = round(ours * 1000, 3)
            figures["%s_ratio" % label] = round(ours / baseline, 2)
        figures.update({"rounds": ROUNDS, "baseline": figures["get_baseline_ms"], "ours": figures["get_ours_ms"],
                        "ratio": figures["get_ratio"]})
        return figures
    finally:
        session.delete(base + "/api/v1/namespaces/" + ns)


if __name__ == "__main__":
    run_standalone(run)
