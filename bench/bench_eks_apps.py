"""playbooks/apps.yml (role eks_apps) for 4 and 40 services: wall time and Kubernetes API requests, first and no-op run.

Ours: playbooks/apps.yml: live state read by lookups, only the objects that differ applied (one
kubernetes.core.k8s run per service with a change; none on a no-op run), validation on the controller.
Baseline: bench/eks_apps_naive.yml, the same role steps but one kubernetes.core.k8s run per object, every run.
Peer: kubectl, on the same rendered manifests (bench/eks_apps_render.yml writes them, outside the timing):
`kubectl diff --server-side` then `kubectl apply --server-side`, as a GitOps pipeline would run them; on the
first run the namespace does not exist yet, so kubectl diff cannot dry-run into it and only the apply counts.
Targets: the no-op run faster than kubectl's diff + apply, and at most 2.5 times a one-task play's start-up.
Each size runs in a fresh namespace of its own (deleted afterwards): first run creates everything,
the second run finds nothing to change. The fault proxy's counters are reset before each run.
"Task seconds" are wall seconds minus an empty playbook's (ansible-playbook's own start-up,
inventory and vault loading), measured in the same run.

Headline (baseline / ours / ratio): the 4-service no-op run, wall seconds.
Set BENCH_EKS_APPS_SIZES (default "4,40") to run other sizes.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import requests

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from benchlib import ApiStats, run_playbook, run_standalone  # noqa: E402  pylint: disable=wrong-import-position

OURS = os.path.join(REPO_ROOT, "playbooks", "apps.yml")
RENDER = os.path.join(BENCH_DIR, "eks_apps_render.yml")
BASELINE = os.path.join(BENCH_DIR, "eks_apps_naive.yml")
DEFAULT_SERVICES = ["user-service", "point-service", "rewards-service", "admin-service"]
EMPTY_PLAYBOOK = "- name: Start-up only\n  hosts: controller\n  gather_facts: false\n  tasks:\n    - name: One task\n      ansible.builtin.meta: noop\n"


def services(count):
    """The default four, or svc-01 .. svc-NN."""
    if count == len(DEFAULT_SERVICES):
        return [{"name": name} for name in DEFAULT_SERVICES]
    return [{"name": "svc-%02d" % index} for index in range(1, count + 1)]


def _startup_seconds(ctx):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(EMPTY_PLAYBOOK)
    try:
        return min(run_playbook(ctx, handle.name)[0] for _attempt in range(2))
    finally:
        os.unlink(handle.name)


def _delete_namespace(ctx, name):
    requests.delete("%s/api/v1/namespaces/%s" % (ctx.sandbox["SANDBOX_K8S_URL"].rstrip("/"), name),
                    headers={"Authorization": "Bearer " + ctx.sandbox["SANDBOX_K8S_TOKEN"]}, verify=ctx.sandbox["SANDBOX_K8S_CA"], timeout=30)


def measure(ctx, playbook, count, label):
    """First and second run of `playbook` for `count` services in a fresh namespace: seconds and request counts."""
    stats = ApiStats(ctx.sandbox)
    namespace = "bench-eks-%s-%d-%s" % (label, count, uuid.uuid4().hex[:6])
    extra = ["-e", json.dumps({"eks_apps_namespace": namespace, "eks_apps_services": services(count)})]
    figures = {}
    try:
        for run in ("first", "noop"):
            stats.reset()
            seconds, _stdout = run_playbook(ctx, playbook, extra)
            counts = stats.read()
            figures[run] = {
                "seconds": round(seconds, 2),
                "requests": counts["requests"],
                "writes": counts["writes"],
                "by_verb": {verb: number for verb, number in counts["by_verb"].items() if number},
            }
    finally:
        _delete_namespace(ctx, namespace)
    return figures


def _kubectl(ctx, *args):
    """Wall seconds of one kubectl run against the sandbox (diff exits 1 when it finds differences)."""
    cmd = [ctx.sandbox["SANDBOX_KUBECTL"], "--kubeconfig", ctx.sandbox["K8S_AUTH_KUBECONFIG"]] + list(args)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and args[0] != "diff"):
        raise RuntimeError("%s failed: %s" % (" ".join(cmd[3:]), proc.stderr[-2000:]))
    return seconds


def measure_kubectl(ctx, count):
    """kubectl diff + apply --server-side of the role's rendered manifests, first run and no-op run."""
    stats = ApiStats(ctx.sandbox)
    namespace = "bench-eks-kubectl-%d-%s" % (count, uuid.uuid4().hex[:6])
    private = tempfile.mkdtemp(prefix="bench-eks-kubectl-")
    manifests = os.path.join(private, "manifests.json")
    extra = ["-e", json.dumps({"eks_apps_namespace": namespace, "eks_apps_services": services(count),
                               "eks_apps_render_to": manifests})]
    figures = {}
    try:
        run_playbook(ctx, RENDER, extra)
        for run_name in ("first", "noop"):
            stats.reset()
            seconds = 0.0 if run_name == "first" else _kubectl(ctx, "diff", "--server-side", "-f", manifests)
            seconds += _kubectl(ctx, "apply", "--server-side", "--field-manager", "bench-kubectl", "-f", manifests)
            counts = stats.read()
            figures[run_name] = {"seconds": round(seconds, 2), "requests": counts["requests"], "writes": counts["writes"]}
    finally:
        shutil.rmtree(private, ignore_errors=True)
        _delete_namespace(ctx, namespace)
    return figures


def run(ctx):
    sizes = [int(size) for size in os.environ.get("BENCH_EKS_APPS_SIZES", "4,40").split(",") if size.strip()]
    startup = _startup_seconds(ctx)
    figures = {"startup_seconds": round(startup, 2)}
    for count in sizes:
        for run_name, values in measure_kubectl(ctx, count).items():
            prefix = "kubectl_%d_%s" % (count, run_name)
            figures[prefix + "_seconds"] = values["seconds"]
            figures[prefix + "_requests"] = values["requests"]
            figures[prefix + "_writes"] = values["writes"]
        for label, playbook in (("ours", OURS), ("baseline", BASELINE)):
            measured = measure(ctx, playbook, count, label)
            for run_name, values in measured.items():
                prefix = "%s_%d_%s" % (label, count, run_name)
                figures[prefix + "_seconds"] = values["seconds"]
                figures[prefix + "_task_seconds"] = round(values["seconds"] - startup, 2)
                figures[prefix + "_requests"] = values["requests"]
                figures[prefix + "_writes"] = values["writes"]
                figures[prefix + "_by_verb"] = values["by_verb"]
        for run_name in ("first", "noop"):
            ours = figures["ours_%d_%s_seconds" % (count, run_name)]
            figures["ratio_%d_%s" % (count, run_name)] = round(ours / figures["baseline_%d_%s_seconds" % (count, run_name)], 2)
            figures["ratio_kubectl_%d_%s" % (count, run_name)] = round(ours / figures["kubectl_%d_%s_seconds" % (count, run_name)], 2)
        figures["noop_startup_multiple_%d" % count] = round(figures["ours_%d_noop_seconds" % count] / startup, 2)
    head = sizes[0]
    figures.update({
        "headline": "%d services, second (no-op) run, wall seconds" % head,
        "baseline": figures["baseline_%d_noop_seconds" % head],
        "ours": figures["ours_%d_noop_seconds" % head],
        "ratio": figures["ratio_%d_noop" % head],
    })
    return figures


if __name__ == "__main__":
    run_standalone(run)
