"""Background controllers: Deployment -> ReplicaSet -> Pods, pod readiness, EndpointSlices/Endpoints,
HPA clamping, PDB status, and simple status for StatefulSets, DaemonSets and Jobs.

One thread runs ``reconcile`` about 20 times a second (sooner when a write kicks it), under
the store lock. Every write goes through ``Api.commit_update``, which skips no-op writes, so
a steady state produces no resourceVersion churn.
"""

import collections
import logging
import threading
import time

from .selectors import map_matches, selector_matches
from .util import clone, dig, int_or_percent, now_iso, rand_suffix, stable_hash

LOG = logging.getLogger("kubeemu.controller")

TICK_SECONDS = 0.05
NODE_NAME = "emu-node-1"
HOST_IP = "10.0.0.10"
PODS = ("", "pods")
REPLICASETS = ("apps", "replicasets")
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _controller_ref(obj):
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _owner_ref(obj, api_version, kind):
    md = obj["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": md["name"], "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}


def _by_owner(objects):
    """Group objects by the uid of their controller ownerReference."""
    index = collections.defaultdict(list)
    for obj in objects:
        ref = _controller_ref(obj)
        if ref:
            index[ref.get("uid")].append(obj)
    return index


def _merge_conditions(old, new):
    """Keep lastTransitionTime (and lastUpdateTime) of unchanged conditions so a steady state is a no-op write."""
    previous = {c.get("type"): c for c in old or []}
    stamp = now_iso()
    for cond in new:
        before = previous.get(cond["type"], {})
        same_status = before.get("status") == cond["status"]
        same_all = same_status and before.get("reason") == cond.get("reason") and before.get("message") == cond.get("message")
        if "lastTransitionTime" in cond:
            cond["lastTransitionTime"] = before.get("lastTransitionTime", stamp) if same_status else stamp
        if "lastUpdateTime" in cond:
            cond["lastUpdateTime"] = before.get("lastUpdateTime", stamp) if same_all else stamp
    return new


def _prune_zero(status, keep=()):
    """Drop zero-valued counters like Go's omitempty does."""
    return {k: v for k, v in status.items() if k in keep or v not in (0, None)}


class Controller:
    """Reconciles the emulated cluster state."""

    def __init__(self, emu):
        self.emu = emu
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._dirty = True
        self._last_rv = None
        self._deadline = 0.0
        self._born = {}       # uid -> monotonic time an object was first seen (pod readiness, job completion)
        self._progress = {}   # deployment uid -> (progress signature, monotonic time it last changed)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self):
        """Start the background thread."""
        self._thread = threading.Thread(target=self._run, name="kubeemu-controller", daemon=True)
        self._thread.start()

    def stop(self):
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=2)

    def kick(self):
        """Ask for a reconcile pass soon (after a write, a fault or a config change)."""
        self._dirty = True
        self._wake.set()

    def forget(self, obj):
        """Drop per-object bookkeeping of a deleted object."""
        uid = obj["metadata"].get("uid")
        self._born.pop(uid, None)
        self._progress.pop(uid, None)

    def reset(self):
        """Drop all bookkeeping (emulator reset)."""
        self._born.clear()
        self._progress.clear()
        self.kick()

    def _run(self):
        while not self._stop.is_set():
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
            with self.emu.store.lock:
                try:
                    self.reconcile()
                except Exception:  # pylint: disable=broad-exception-caught
                    # A bug in one pass must not kill the controller thread for the rest of the run.
                    LOG.exception("controller pass failed")

    # ---- the pass --------------------------------------------------------------------------

    def reconcile(self, force=False):
        """One reconcile pass; repeats the steps until nothing changes (e.g. RS created -> pods -> status)."""
        now = time.monotonic()
        store = self.emu.store
        if not force and not self._dirty and store.rv == self._last_rv and now < self._deadline:
            return
        self._dirty = False
        self._deadline = now + 1.0
        for unused_round in range(6):
            before = store.rv
            self._hpas()
            self._deployments_rollout()
            self._replicasets_pods()
            self._pods(now)
            self._replicasets_status()
            self._deployments_status(now)
            self._simple_workloads(now)
            for svc in store.items(("", "services")):
                self.sync_service(svc)
            self._pdbs()
            self._load_balancers()
            if store.rv == before:
                break
        self._last_rv = store.rv

    def _def(self, group, plural):
        return self.emu.registry.by_store_key((group, plural))

    def _wake_at(self, when):
        self._deadline = min(self._deadline, when)

    # ---- deployments -----------------------------------------------------------------------

    def _deployments_rollout(self):
        store, api = self.emu.store, self.emu.api
        rs_def = self._def("apps", "replicasets")
        rs_index = _by_owner(store.items(REPLICASETS))
        pod_index = _by_owner(store.items(PODS))
        for dep in store.items(("apps", "deployments")):
            if dig(dep, "spec", "paused"):
                continue
            md, spec = dep["metadata"], dep["spec"]
            template = spec.get("template") or {}
            pod_hash = stable_hash(template)
            owned = rs_index.get(md["uid"], [])
            new_rs = next((rs for rs in owned if dig(rs, "metadata", "labels", HASH_LABEL) == pod_hash), None)
            olds = [rs for rs in owned if rs is not new_rs]
            desired = spec.get("replicas", 1)
            revisions = {rs["metadata"]["uid"]: int(dig(rs, "metadata", "annotations", REVISION, default="0") or 0) for rs in owned}
            latest = max(revisions.values() or [0])
            if new_rs is None:
                new_rs = self._create_replicaset(dep, template, pod_hash, latest + 1)
                if new_rs is None:
                    continue
            elif revisions[new_rs["metadata"]["uid"]] < latest:
                # Rolling back to an older template: its ReplicaSet becomes the newest revision again.
                updated = clone(new_rs)
                updated["metadata"].setdefault("annotations", {})[REVISION] = str(latest + 1)
                new_rs = api.internal_update(rs_def, updated) or new_rs
            self._set_revision(dep, dig(new_rs, "metadata", "annotations", REVISION, default="1"))

            def ready_of(rs):
                return sum(1 for p in pod_index.get(rs["metadata"]["uid"], []) if self.emu.api.pod_ready(p))

            every = owned if any(rs is new_rs for rs in owned) else owned + [new_rs]
            strategy = spec.get("strategy") or {}
            targets = {rs["metadata"]["uid"]: rs["spec"].get("replicas", 0) for rs in every}
            new_uid = new_rs["metadata"]["uid"]
            if strategy.get("type") == "Recreate":
                if any(targets[rs["metadata"]["uid"]] for rs in olds):
                    for rs in olds:
                        targets[rs["metadata"]["uid"]] = 0
                elif not any(pod_index.get(rs["metadata"]["uid"]) for rs in olds):
                    targets[new_uid] = desired
            else:
                rolling = strategy.get("rollingUpdate") or {}
                surge = int_or_percent(rolling.get("maxSurge", "25%"), desired, True)
                unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), desired, False)
                if surge == 0 and unavailable == 0:
                    unavailable = 1
                if not any(targets[rs["metadata"]["uid"]] for rs in olds) or targets[new_uid] > desired:
                    targets[new_uid] = desired
                else:
                    room = desired + surge - sum(targets.values())
                    targets[new_uid] = min(desired, targets[new_uid] + max(0, room))
                # Old pods may go once enough pods are ready (maxUnavailable); unready old pods may go at once.
                budget = max(0, sum(ready_of(rs) for rs in every) - (desired - unavailable))
                for rs in sorted(olds, key=lambda r: r["metadata"].get("creationTimestamp", "")):
                    uid = rs["metadata"]["uid"]
                    if not targets[uid]:
                        continue
                    unready = max(0, targets[uid] - ready_of(rs))
                    cut = min(targets[uid], unready + budget)
                    budget -= max(0, cut - unready)
                    targets[uid] -= cut
            for rs in every:
                uid = rs["metadata"]["uid"]
                if rs["spec"].get("replicas", 0) != targets[uid]:
                    updated = clone(rs)
                    updated["spec"]["replicas"] = targets[uid]
                    annotations = updated["metadata"].setdefault("annotations", {})
                    annotations["deployment.kubernetes.io/desired-replicas"] = str(desired)
                    api.internal_update(rs_def, updated)

    def _create_replicaset(self, dep, template, pod_hash, revision):
        md, spec = dep["metadata"], dep["spec"]
        name = "%s-%s" % (md["name"], pod_hash)
        if self.emu.store.get(REPLICASETS, md["namespace"], name) is not None:
            return None  # name taken by an object we do not own: leave it alone, like a hash collision
        rs_template = clone(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = clone(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        labels = dict(rs_template["metadata"]["labels"])
        body = {
            "metadata": {
                "name": name, "namespace": md["namespace"], "labels": labels,
                "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                                "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1) + 1)},
                "ownerReferences": [_owner_ref(dep, "apps/v1", "Deployment")],
            },
            "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": selector, "template": rs_template},
        }
        self.emu.api.create(self._def("apps", "replicasets"), md["namespace"], body, internal=True)
        return self.emu.store.get(REPLICASETS, md["namespace"], name)

    def _set_revision(self, dep, revision):
        if dig(dep, "metadata", "annotations", REVISION) != revision:
            updated = clone(dep)
            updated["metadata"].setdefault("annotations", {})[REVISION] = revision
            self.emu.api.internal_update(self._def("apps", "deployments"), updated)

    def _deployments_status(self, now):
        store = self.emu.store
        rs_index = _by_owner(store.items(REPLICASETS))
        pod_index = _by_owner(store.items(PODS))
        for dep in store.items(("apps", "deployments")):
            md, spec = dep["metadata"], dep["spec"]
            desired = spec.get("replicas", 1)
            pod_hash = stable_hash(spec.get("template") or {})
            owned = rs_index.get(md["uid"], [])
            new_rs = next((rs for rs in owned if dig(rs, "metadata", "labels", HASH_LABEL) == pod_hash), None)
            pods = [p for rs in owned for p in pod_index.get(rs["metadata"]["uid"], [])]
            new_pods = pod_index.get(new_rs["metadata"]["uid"], []) if new_rs else []
            ready = sum(1 for p in pods if self.emu.api.pod_ready(p))
            total_spec = sum(rs["spec"].get("replicas", 0) for rs in owned)
            rolling = dig(spec, "strategy", "rollingUpdate") or {}
            max_unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), desired, False) if dig(spec, "strategy", "type") != "Recreate" else 0
            complete = len(new_pods) == desired and len(pods) == desired and ready == desired
            signature = (len(new_pods), ready, len(pods), md.get("generation"))
            seen = self._progress.get(md["uid"])
            if seen is None or seen[0] != signature:
                self._progress[md["uid"]] = seen = (signature, now)
            deadline = spec.get("progressDeadlineSeconds", 600)
            rs_name = new_rs["metadata"]["name"] if new_rs else md["name"]
            if complete:
                progressing = ("True", "NewReplicaSetAvailable", 'ReplicaSet "%s" has successfully progressed.' % rs_name)
            elif now - seen[1] > deadline:
                progressing = ("False", "ProgressDeadlineExceeded", 'ReplicaSet "%s" has timed out progressing.' % rs_name)
            else:
                progressing = ("True", "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % rs_name)
                self._wake_at(seen[1] + deadline + 0.01)
            if ready >= desired - max_unavailable:
                available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            else:
                available = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
            conditions = [
                {"type": t, "status": s, "lastUpdateTime": "", "lastTransitionTime": "", "reason": r, "message": m}
                for t, (s, r, m) in (("Available", available), ("Progressing", progressing))
            ]
            status = _prune_zero({
                "observedGeneration": md.get("generation", 1),
                "replicas": len(pods),
                "updatedReplicas": len(new_pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": max(0, total_spec - ready),
            })
            if dig(dep, "status", "collisionCount") is not None:
                status["collisionCount"] = dep["status"]["collisionCount"]
            status["conditions"] = _merge_conditions(dig(dep, "status", "conditions"), conditions)
            self._write_status(("apps", "deployments"), dep, status)

    def _write_status(self, key, obj, status):
        if obj.get("status") != status:
            updated = clone(obj)
            updated["status"] = status
            self.emu.api.internal_update(self.emu.registry.by_store_key(key), updated)

    # ---- replicasets and pods ------------------------------------------------------------------

    def _replicasets_pods(self):
        store, api = self.emu.store, self.emu.api
        pod_def = self._def("", "pods")
        pod_index = _by_owner(store.items(PODS))
        for rs in store.items(REPLICASETS):
            md = rs["metadata"]
            pods = pod_index.get(md["uid"], [])
            want = rs["spec"].get("replicas", 0)
            for unused_index in range(want - len(pods)):
                api.create(pod_def, md["namespace"], self._pod_for(rs), internal=True)
            if len(pods) > want:
                # Scale down: unready pods first, then the youngest, as the ReplicaSet controller does.
                victims = sorted(pods, key=lambda p: (api.pod_ready(p), -self._born.get(p["metadata"]["uid"], 0)))[:len(pods) - want]
                for pod in victims:
                    api.remove(pod_def, pod)

    def _pod_for(self, rs):
        template = rs["spec"].get("template") or {}
        tmeta = template.get("metadata") or {}
        spec = clone(template.get("spec") or {})
        spec["nodeName"] = NODE_NAME
        metadata = {"name": "%s-%s" % (rs["metadata"]["name"], rand_suffix()), "namespace": rs["metadata"]["namespace"],
                    "labels": dict(tmeta.get("labels") or {}), "ownerReferences": [_owner_ref(rs, "apps/v1", "ReplicaSet")]}
        if tmeta.get("annotations"):
            metadata["annotations"] = dict(tmeta["annotations"])
        return {"metadata": metadata, "spec": spec, "status": self._pod_status(spec, None, False)}

    def _pod_status(self, spec, old_status, ready):
        """A running pod's status; ``ready`` decides the Ready/ContainersReady conditions and containerStatuses."""
        old_status = old_status or {}
        started = old_status.get("startTime") or now_iso()
        pod_ip = old_status.get("podIP") or self.emu.allocator.pod_ip()
        flag = "True" if ready else "False"
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": ""},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": ""},
            {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": ""},
            {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": ""},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": ""},
        ]
        for cond in conditions:
            if cond["status"] == "False":
                cond["reason"] = "ContainersNotReady"
                cond["message"] = "containers with unready status: [%s]" % " ".join(c.get("name", "") for c in spec.get("containers") or [])
        old_cs = {c.get("name"): c for c in old_status.get("containerStatuses") or []}
        statuses = []
        for container in spec.get("containers") or []:
            name = container.get("name", "")
            previous = old_cs.get(name, {})
            statuses.append({
                "name": name, "image": container.get("image", ""), "imageID": previous.get("imageID", ""),
                "containerID": previous.get("containerID") or "containerd://" + stable_hash([name, pod_ip, started], 32),
                "ready": ready, "started": True, "restartCount": 0,
                "state": {"running": {"startedAt": dig(previous, "state", "running", "startedAt") or started}}, "lastState": {},
            })
        return {
            "phase": "Running",
            "conditions": _merge_conditions(old_status.get("conditions"), conditions),
            "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
            "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "startTime": started,
            "containerStatuses": statuses,
            "qosClass": old_status.get("qosClass", "BestEffort"),
        }

    def _pods(self, now):
        """Schedule pods and flip them ready ``ready_delay`` seconds after creation (unless a never_ready fault applies).

        A never_ready fault keeps new pods unready; pods that are already ready are left alone.
        """
        store, api, faults = self.emu.store, self.emu.api, self.emu.faults
        delay = self.emu.config["ready_delay"]
        for pod in store.items(PODS):
            md = pod["metadata"]
            if md.get("deletionTimestamp"):
                continue
            born = self._born.setdefault(md["uid"], now)
            if api.pod_ready(pod) and dig(pod, "spec", "nodeName"):
                continue  # ready pods stay ready; never_ready only stops pods from becoming ready
            blocked = faults.never_ready(md.get("namespace", ""), api.workload_names(pod))
            ready = now - born >= delay and not blocked
            if not ready and not blocked:
                self._wake_at(born + delay)
            scheduled = dig(pod, "spec", "nodeName") and dig(pod, "status", "phase") == "Running"
            if scheduled and api.pod_ready(pod) == ready:
                continue
            updated = clone(pod)
            updated["spec"]["nodeName"] = updated["spec"].get("nodeName") or NODE_NAME
            updated["status"] = self._pod_status(updated["spec"], pod.get("status"), ready)
            api.internal_update(self._def("", "pods"), updated)

    def _replicasets_status(self):
        store, api = self.emu.store, self.emu.api
        pod_index = _by_owner(store.items(PODS))
        for rs in store.items(REPLICASETS):
            pods = pod_index.get(rs["metadata"]["uid"], [])
            ready = sum(1 for p in pods if api.pod_ready(p))
            status = _prune_zero({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                                  "observedGeneration": rs["metadata"].get("generation", 1)}, keep=("replicas",))
            self._write_status(REPLICASETS, rs, status)

    # ---- workloads without pods ----------------------------------------------------------------

    def _simple_workloads(self, now):
        """StatefulSets and DaemonSets report ready at once; Jobs complete ``ready_delay`` after creation. No pods are run."""
        store = self.emu.store
        for sts in store.items(("apps", "statefulsets")):
            replicas = dig(sts, "spec", "replicas", default=1)
            revision = "%s-%s" % (sts["metadata"]["name"], stable_hash(dig(sts, "spec", "template") or {}))
            status = _prune_zero({"observedGeneration": sts["metadata"].get("generation", 1), "replicas": replicas, "readyReplicas": replicas,
                                  "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                                  "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}, keep=("replicas", "collisionCount"))
            self._write_status(("apps", "statefulsets"), sts, status)
        nodes = max(1, len(store.items(("", "nodes"))))
        for ds in store.items(("apps", "daemonsets")):
            status = {"currentNumberScheduled": nodes, "desiredNumberScheduled": nodes, "numberAvailable": nodes, "numberMisscheduled": 0,
                      "numberReady": nodes, "observedGeneration": ds["metadata"].get("generation", 1), "updatedNumberScheduled": nodes}
            self._write_status(("apps", "daemonsets"), ds, status)
        delay = self.emu.config["ready_delay"]
        for job in store.items(("batch", "jobs")):
            if dig(job, "spec", "suspend") or dig(job, "status", "completionTime"):
                continue
            born = self._born.setdefault(job["metadata"]["uid"], now)
            status = dict(job.get("status") or {})
            status.setdefault("startTime", now_iso())
            if now - born >= delay:
                stamp = now_iso()
                status.update(succeeded=dig(job, "spec", "completions", default=1) or 1, ready=0, terminating=0, completionTime=stamp,
                              uncountedTerminatedPods={},
                              conditions=[{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                                           "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp, "lastTransitionTime": stamp},
                                          {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                                           "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp, "lastTransitionTime": stamp}])
                status.pop("active", None)
            else:
                status.update(active=dig(job, "spec", "parallelism", default=1), ready=0)
                self._wake_at(born + delay)
            self._write_status(("batch", "jobs"), job, status)

    # ---- services --------------------------------------------------------------------------------

    def sync_service(self, svc):
        """Make the Service's EndpointSlice '<svc>-emu' and Endpoints object list the pods its selector matches."""
        store, api = self.emu.store, self.emu.api
        md, spec = svc["metadata"], svc.get("spec") or {}
        namespace, name = md["namespace"], md["name"]
        slice_def, ep_def = self._def("discovery.k8s.io", "endpointslices"), self._def("", "endpoints")
        slice_name = name + "-emu"
        selector = spec.get("selector")
        if not selector or spec.get("type") == "ExternalName":
            existing = store.get(slice_def.store_key, namespace, slice_name)
            if existing is not None and dig(existing, "metadata", "labels", "kubernetes.io/service-name") == name:
                api.remove(slice_def, existing)
            return
        pods = [p for p in store.items(PODS, namespace)
                if map_matches(selector, dig(p, "metadata", "labels")) and dig(p, "status", "podIP") and not dig(p, "metadata", "deletionTimestamp")]
        ports = []
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str):
                target = next((cp.get("containerPort") for p in pods for c in dig(p, "spec", "containers") or []
                               for cp in c.get("ports") or [] if cp.get("name") == target), None)
            if target is not None:
                ports.append({"name": port.get("name", ""), "port": target, "protocol": port.get("protocol", "TCP")})
        endpoints = []
        for pod in pods:
            ready = api.pod_ready(pod)
            endpoints.append({
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": dig(pod, "spec", "nodeName", default=NODE_NAME),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
            })
        labels = dict(md.get("labels") or {})
        labels.update({"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"})
        slice_body = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name, "namespace": namespace, "labels": labels,
                         "ownerReferences": [_owner_ref(svc, "v1", "Service")]},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
        }
        self._upsert(slice_def, slice_body)
        subset = {}
        addresses = [{"ip": e["addresses"][0], "nodeName": e["nodeName"], "targetRef": e["targetRef"]} for e in endpoints if e["conditions"]["ready"]]
        not_ready = [{"ip": e["addresses"][0], "nodeName": e["nodeName"], "targetRef": e["targetRef"]} for e in endpoints if not e["conditions"]["ready"]]
        if addresses:
            subset["addresses"] = addresses
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        ep_body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace, "labels": dict(md.get("labels") or {})}}
        if subset:
            subset["ports"] = [{k: v for k, v in p.items() if v != ""} for p in ports]
            ep_body["subsets"] = [subset]
        if not ep_body["metadata"]["labels"]:
            del ep_body["metadata"]["labels"]
        self._upsert(ep_def, ep_body)

    def _upsert(self, rdef, body):
        """Create or replace a controller-owned object, keeping identity fields; no-op writes are skipped."""
        md = body["metadata"]
        existing = self.emu.store.get(rdef.store_key, md.get("namespace", ""), md["name"])
        if existing is None:
            self.emu.api.create(rdef, md.get("namespace", ""), body, internal=True)
            return
        updated = clone(body)
        for key in ("uid", "creationTimestamp", "resourceVersion", "generation", "annotations"):
            if key in existing["metadata"]:
                updated["metadata"][key] = existing["metadata"][key]
        self.emu.api.internal_update(rdef, updated)

    def _load_balancers(self):
        """Give LoadBalancer Services and Ingresses a (never resolvable) hostname, as a cloud controller would."""
        for svc in self.emu.store.items(("", "services")):
            status = {"loadBalancer": {}}
            if dig(svc, "spec", "type") == "LoadBalancer":
                host = "%s.elb.kubeemu.invalid" % stable_hash([svc["metadata"]["namespace"], svc["metadata"]["name"]], 16)
                status = {"loadBalancer": {"ingress": [{"hostname": host}]}}
            self._write_status(("", "services"), svc, status)
        for ing in self.emu.store.items(("networking.k8s.io", "ingresses")):
            host = "k8s-%s.alb.kubeemu.invalid" % stable_hash([ing["metadata"]["namespace"], ing["metadata"]["name"]], 16)
            self._write_status(("networking.k8s.io", "ingresses"), ing, {"loadBalancer": {"ingress": [{"hostname": host}]}})

    # ---- autoscaling and disruption budgets ------------------------------------------------------------

    def _hpas(self):
        store, api, registry = self.emu.store, self.emu.api, self.emu.registry
        for hpa in store.items(("autoscaling", "horizontalpodautoscalers")):
            md, spec = hpa["metadata"], hpa.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            target_def = registry.by_kind(ref.get("apiVersion", "").rpartition("/")[0], ref.get("kind"))
            target = store.get(target_def.store_key, md["namespace"], ref.get("name")) if target_def else None
            old_status = hpa.get("status") or {}
            if target is None:
                conditions = [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "lastTransitionTime": "",
                               "message": 'the HPA controller was unable to get the target\'s current scale: %s "%s" not found'
                               % ((target_def.plural if target_def else ref.get("kind", "")), ref.get("name"))}]
                status = {"currentReplicas": 0, "desiredReplicas": 0, "conditions": _merge_conditions(old_status.get("conditions"), conditions)}
                self._write_status(("autoscaling", "horizontalpodautoscalers"), hpa, status)
                continue
            current = dig(target, "spec", "replicas", default=1)
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
            override = self.emu.hpa_desired.get((md["namespace"], md["name"]))
            wanted = override if override is not None else current
            desired = max(low, min(high, wanted))
            status = {}
            if current == 0 and override is None:
                desired = 0  # scaled to zero by hand: a real HPA switches itself off
                active = ("False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
            else:
                active = ("True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                                                      "(percentage of request)")
            if desired != current:
                updated = clone(target)
                updated["spec"]["replicas"] = desired
                api.internal_update(target_def, updated)
                status["lastScaleTime"] = now_iso()
            elif old_status.get("lastScaleTime"):
                status["lastScaleTime"] = old_status["lastScaleTime"]
            if wanted > high:
                limited = ("True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")
            elif wanted < low and desired:
                limited = ("True", "TooFewReplicas", "the desired replica count is less than the minimum replica count")
            else:
                limited = ("False", "DesiredWithinRange", "the desired count is within the acceptable range")
            conditions = [{"type": t, "status": s, "lastTransitionTime": "", "reason": r, "message": m} for t, (s, r, m) in (
                ("AbleToScale", ("True", "ReadyForNewScale", "recommended size matches current size")),
                ("ScalingActive", active), ("ScalingLimited", limited))]
            status.update(currentReplicas=desired, desiredReplicas=desired,
                          conditions=_merge_conditions(old_status.get("conditions"), conditions))
            self._write_status(("autoscaling", "horizontalpodautoscalers"), hpa, status)

    def _pdbs(self):
        store, api = self.emu.store, self.emu.api
        for pdb in store.items(("policy", "poddisruptionbudgets")):
            md, spec = pdb["metadata"], pdb.get("spec") or {}
            pods = [p for p in store.items(PODS, md["namespace"]) if selector_matches(spec.get("selector"), dig(p, "metadata", "labels"))]
            healthy = sum(1 for p in pods if api.pod_ready(p))
            expected = len(pods)
            if spec.get("minAvailable") is not None:
                desired = int_or_percent(spec["minAvailable"], expected, True)
            elif spec.get("maxUnavailable") is not None:
                desired = max(0, expected - int_or_percent(spec["maxUnavailable"], expected, True))
            else:
                desired = expected
            allowed = max(0, healthy - desired)
            condition = {"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                         "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "",
                         "observedGeneration": md.get("generation", 1), "lastTransitionTime": ""}
            status = {"observedGeneration": md.get("generation", 1), "disruptionsAllowed": allowed, "currentHealthy": healthy,
                      "desiredHealthy": desired, "expectedPods": expected,
                      "conditions": _merge_conditions(dig(pdb, "status", "conditions"), [condition])}
            self._write_status(("policy", "poddisruptionbudgets"), pdb, status)
