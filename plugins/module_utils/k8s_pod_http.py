# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP checks of Pods through the API server's pods proxy (``/api/v1/namespaces/NS/pods/[https:]NAME:PORT/proxy/PATH``).

The controller needs no network path to the Pods, only the ``pods/proxy`` permission. Pure functions decide which Pods
to check and judge each answer; module_utils/kube_api.py's ``KubeApi`` is the edge that makes the requests (one list
per selector, one GET per Pod) and counts them.
"""

from __future__ import annotations

import json

from ansible_collections.loyalty.platform.plugins.module_utils.kube_api import ApiError, pod_proxy_path, pod_ready

BODY_LIMIT = 512
FINISHED_PHASES = ("Succeeded", "Failed")


class PodHttpError(Exception):
    """The check could not run (bad options, Pods could not be listed); a failing Pod is a result, not this."""


def validate_params(params):
    problems = []
    selectors = params.get("selectors") or []
    if not selectors or any(not str(selector).strip() for selector in selectors):
        problems.append("selectors must list at least one non-empty label selector, for example app=user-service,color=green")
    if params.get("min_pods", 1) < 0:
        problems.append("min_pods must be 0 or more")
    statuses = params.get("expected_status") or []
    if not statuses or any(not 100 <= int(status) <= 599 for status in statuses):
        problems.append("expected_status must list HTTP status codes between 100 and 599")
    port = str(params.get("port") or "").strip()
    if not port or (port.isdigit() and not 1 <= int(port) <= 65535):
        problems.append("port must be a container port name or a number between 1 and 65535 (got %r)" % params.get("port"))
    if problems:
        raise PodHttpError("Invalid options: %s." % "; ".join(problems))


def pod_name(pod):
    return (pod.get("metadata") or {}).get("name")


def is_candidate(pod):
    """Pods on their way out (terminating, or finished) serve nothing and are not checked."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in FINISHED_PHASES


def resolve_port(pod, port):
    """A port number as given, or the containerPort of the container port with that name; None when there is none."""
    port = str(port).strip()
    if port.isdigit():
        return int(port)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for item in container.get("ports") or []:
            if item.get("name") == port and item.get("containerPort"):
                return int(item["containerPort"])
    return None


def parse_body(body):
    """The answer as a dict when it is a JSON object, else None; plus its text, cut to BODY_LIMIT characters."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, dict):
        return body, json.dumps(body, sort_keys=True)[:BODY_LIMIT]
    text = "" if body is None else str(body)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return (parsed if isinstance(parsed, dict) else None), text[:BODY_LIMIT]


def judge(status, document, expected_status, expected_json):
    """Why an answer does not pass; None when it does."""
    if status not in expected_status:
        return "answered HTTP %s, expected %s" % (status, " or ".join(str(code) for code in expected_status))
    if expected_json:
        if document is None:
            return "answered HTTP %s without a JSON object, expected %s" % (status, json.dumps(expected_json, sort_keys=True))
        wrong = sorted(key for key, value in expected_json.items() if document.get(key) != value)
        if wrong:
            return "answered %s, expected %s" % (
                ", ".join("%s=%s" % (key, json.dumps(document.get(key))) for key in wrong),
                ", ".join("%s=%s" % (key, json.dumps(expected_json[key])) for key in wrong),
            )
    return None


def check_pod(api, namespace, pod, selector, params):
    """One Pod's record: ``{name, selector, ready, port, status, body, passed, problem}``."""
    name = pod_name(pod)
    record = {"name": name, "selector": selector, "ready": pod_ready(pod), "port": None, "status": None, "body": None, "passed": False, "problem": None}
    if params["require_ready"] and not record["ready"]:
        record["problem"] = "is not Ready (its readiness probe has not passed)"
        return record
    port = resolve_port(pod, params["port"])
    if port is None:
        record["problem"] = "has no container port named %s" % params["port"]
        return record
    record["port"] = port
    status, body = api.proxy_get(pod_proxy_path(namespace, name, params["scheme"], port, params["path"]))
    document, text = parse_body(body)
    record.update(status=status, body=text)
    record["problem"] = judge(status, document, [int(code) for code in params["expected_status"]], params.get("expected_json"))
    record["passed"] = record["problem"] is None
    return record


def describe(record):
    where = "Pod %s" % record["name"] if record.get("name") else "selector %s" % record["selector"]
    return "%s %s" % (where, record["problem"])


def run_checks(api, params):
    """Check every Pod each selector matches; returns the module result (``passed`` false when any check failed)."""
    validate_params(params)
    namespace = params["namespace"]
    pods, selectors, problems = [], [], []
    for selector in params["selectors"]:
        try:
            matched = [pod for pod in api.list_pods(namespace, label_selector=selector) if is_candidate(pod)]
        except ApiError as exc:
            raise PodHttpError("Could not list the Pods of %s in namespace %s: %s" % (selector, namespace, exc)) from exc
        records = []
        for pod in sorted(matched, key=pod_name):
            try:
                records.append(check_pod(api, namespace, pod, selector, params))
            except ApiError as exc:
                raise PodHttpError("Could not reach Pod %s/%s through the API server's pods proxy: %s" % (namespace, pod_name(pod), exc)) from exc
        passed = [record for record in records if record["passed"]]
        entry = {"selector": selector, "pods": len(records), "passed_pods": len(passed), "passed": True}
        if len(records) < params["min_pods"]:
            entry["passed"] = False
            problems.append(
                "selector %s matches %d running Pod(s) in namespace %s, expected at least %d" % (selector, len(records), namespace, params["min_pods"])
            )
        for record in records:
            if not record["passed"]:
                entry["passed"] = False
                problems.append(describe(record))
        selectors.append(entry)
        pods.extend(records)
    passed = not problems
    if passed:
        statuses = "/".join(str(code) for code in params["expected_status"])
        msg = "%d Pod(s) of %d selector(s) answered %s on %s." % (len(pods), len(selectors), statuses, params["path"])
    else:
        msg = "HTTP checks failed in namespace %s: %s." % (namespace, "; ".join(problems))
    return {"changed": False, "passed": passed, "msg": msg, "pods": pods, "selectors": selectors, "problems": problems, "api_requests": api.requests}
