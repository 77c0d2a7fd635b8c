"""Blue/green switch of 4 and 40 Services: time and Kubernetes API requests, against the guide's script in the same run.

Ours: loyalty.platform's switch (module_utils run_switch, the code k8s_bluegreen runs) in this process, with every
check, the Lease, resourceVersion-preconditioned patches, read-back of Services and EndpointSlices, and the Event,
with the default patch_concurrency (1: one patch after the other) and with patch_concurrency 8; plus the module end
to end through ansible-playbook (that figure includes Ansible's start-up).
Baseline: the guide's blue-green-deploy.sh switch: one plain selector patch per Service, sequential, no checks,
done with the kubernetes client.

The fault proxy counts requests (discovery excluded, it is cached by the client). Expected: ours makes N + 10 requests
(1 per Service plus 10 per switch), the baseline N. Timings are printed, not asserted.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))

from benchlib import ApiStats, run_standalone  # noqa: E402  pylint: disable=wrong-import-position

SIZES = (4, 40)
ROUNDS = 3
# patch_concurrency of the second measurement of ours (the first is the default, 1).
PARALLEL = 8
SETTLE_SECONDS = 1.0
REPLICAS = 2


def _clients(sandbox):
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    from kubernetes.dynamic import DynamicClient  # pylint: disable=import-outside-toplevel
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client  # pylint: disable=import-outside-toplevel
    from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.api import BlueGreenApi  # pylint: disable=import-outside-toplevel

    api_client = config.new_client_from_config(config_file=sandbox["K8S_AUTH_KUBECONFIG"])
    # The same client construction as the module (kubernetes.core's get_api_client); discovery happens here, once.
    ours = get_api_client(kubeconfig=sandbox["K8S_AUTH_KUBECONFIG"]).client
    return DynamicClient(api_client), client.CoreV1Api(api_client), lambda: BlueGreenApi(ours)


def _create_group(kube, namespace, names):
    kube.resources.get(api_version="v1", kind="Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    deployments = kube.resources.get(api_version="apps/v1", kind="Deployment")
    services = kube.resources.get(api_version="v1", kind="Service")
    for name in names:
        for color in ("blue", "green"):
            labels = {"app": name, "color": color}
            deployments.create(namespace=namespace, body={
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "%s-%s" % (name, color), "labels": labels},
                "spec": {"replicas": REPLICAS, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                    "containers": [{"name": "app", "image": "registry.invalid/loyalty/%s:1" % name, "ports": [{"containerPort": 8080}]}]}}},
            })
        services.create(namespace=namespace, body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name, "color": "blue"}, "ports": [{"port": 80, "targetPort": 8080}]},
        })
    deadline = time.monotonic() + 120
    while True:
        items = deployments.get(namespace=namespace).items
        if len(items) == 2 * len(names) and all((d.status.readyReplicas or 0) == REPLICAS for d in items):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the bench group in %s never became ready" % namespace)
        time.sleep(0.2)


def _naive_switch(core, namespace, names, color):
    """The guide's script: kubectl patch service ... -p '{"spec":{"selector":{"color":"<color>"}}}', once per Service."""
    for name in names:
        core.patch_namespaced_service(name, namespace, {"spec": {"selector": {"color": color}}})


def _our_switch(make_api, namespace, names, color, concurrency=1):
    from ansible_collections.loyalty.platform.plugins.module_utils.bluegreen.switch import default_holder, run_switch  # pylint: disable=C0415

    params = {
        "namespace": namespace, "services": names, "color_label": "color", "target_color": color, "state": "switched",
        "deployment_name": "{service}-{color}", "wait_timeout": 30, "require_replica_parity": True, "prometheus_url": None,
        "gates": None, "lease_ttl": 120, "lease_holder": default_holder(), "repair": False, "verify_endpoints": True,
        "patch_concurrency": concurrency,
    }
    result = run_switch(make_api(), params)
    if result["active_color"] != color:
        raise RuntimeError("switch to %s ended on %s" % (color, result["active_color"]))
    return result


def _requests(stats):
    return stats["requests"] - stats["by_verb"].get("discovery", 0)


def _measure(stats, func, *args):
    # The controllers are still reacting to the previous round's switch (EndpointSlices, Endpoints) for a moment and
    # share the machine's cores with the API server: every round, ours and the baseline's, starts on a quiet cluster.
    time.sleep(SETTLE_SECONDS)
    stats.reset()
    started = time.perf_counter()
    func(*args)
    seconds = time.perf_counter() - started
    return seconds, _requests(stats.read()), stats.read()["writes"]


def _playbook(ctx, namespace, names, color):
    play = [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "switch", "loyalty.platform.k8s_bluegreen": {"namespace": namespace, "services": names, "target_color": color}}]}]
    path = os.path.join("/tmp", "bench-bluegreen-%s.yml" % uuid.uuid4().hex[:8])
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    env = dict(os.environ)
    env.update(ctx.sandbox)
    env["ANSIBLE_CONFIG"] = os.path.join(ctx.repo_root, "ansible.cfg")
    venv_bin = os.path.join(ctx.repo_root, ".venv", "bin")
    cmd = [os.path.join(venv_bin, "ansible-playbook"), path, "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + os.path.join(venv_bin, "python")]
    try:
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ctx.repo_root, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError("ansible-playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))
    return seconds


def run(ctx):
    stats = ApiStats(ctx.sandbox)
    kube, core, make_api = _clients(ctx.sandbox)
    namespaces = []
    figures = {}
    try:
        for size in SIZES:
            names = ["svc-%02d" % index for index in range(size)]
            namespace = "bench-bg-%d-%s" % (size, uuid.uuid4().hex[:6])
            namespaces.append(namespace)
            _create_group(kube, namespace, names)

            naive, ours = [], []
            color = "blue"
            for _round in range(ROUNDS):
                color = "green" if color == "blue" else "blue"
                naive.append(_measure(stats, _naive_switch, core, namespace, names, color))
            for _round in range(ROUNDS):
                color = "green" if color == "blue" else "blue"
                ours.append(_measure(stats, _our_switch, make_api, namespace, names, color))
            parallel = []
            for _round in range(ROUNDS):
                color = "green" if color == "blue" else "blue"
                parallel.append(_measure(stats, _our_switch, make_api, namespace, names, color, PARALLEL))
            color = "green" if color == "blue" else "blue"
            stats.reset()
            playbook_seconds = _playbook(ctx, namespace, names, color)
            playbook_requests = _requests(stats.read())

            naive_s = statistics.median(sample[0] for sample in naive)
            ours_s = statistics.median(sample[0] for sample in ours)
            figures["naive_%d_seconds" % size] = round(naive_s, 4)
            figures["naive_%d_requests" % size] = naive[0][1]
            figures["ours_%d_seconds" % size] = round(ours_s, 4)
            figures["ours_%d_requests" % size] = ours[0][1]
            figures["ours_%d_writes" % size] = ours[0][2]
            figures["ours_%d_requests_stable" % size] = len(set(sample[1] for sample in ours)) == 1
            figures["ours_%d_playbook_seconds" % size] = round(playbook_seconds, 3)
            figures["ours_%d_playbook_requests" % size] = playbook_requests
            figures["ratio_%d_time" % size] = round(ours_s / naive_s, 2)
            parallel_s = statistics.median(sample[0] for sample in parallel)
            figures["ours_parallel_%d_seconds" % size] = round(parallel_s, 4)
            figures["ours_parallel_%d_requests" % size] = parallel[0][1]
            figures["ratio_parallel_%d_time" % size] = round(parallel_s / naive_s, 2)
            figures["ratio_%d_requests" % size] = round(ours[0][1] / float(naive[0][1]), 2)
    finally:
        namespace_api = kube.resources.get(api_version="v1", kind="Namespace")
        for namespace in namespaces:
            namespace_api.delete(name=namespace)

    small, large = SIZES
    per_service = (figures["ours_%d_requests" % large] - figures["ours_%d_requests" % small]) / float(large - small)
    figures["requests_per_service"] = per_service
    figures["requests_fixed_per_switch"] = figures["ours_%d_requests" % small] - per_service * small
    figures["rounds"] = ROUNDS
    figures.update({"baseline": figures["naive_%d_seconds" % large], "ours": figures["ours_%d_seconds" % large],
                    "ratio": figures["ratio_%d_time" % large]})
    return figures


if __name__ == "__main__":
    run_standalone(run)
