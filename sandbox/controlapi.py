"""The /_sandbox control calls that every fault proxy of the sandbox answers alike (kubesandbox before the API server,
s3front before moto): its faults and its request statistics."""

KNOWN = "GET /_sandbox/stats, POST /_sandbox/stats/reset, GET|POST|DELETE /_sandbox/faults, DELETE /_sandbox/faults/<id>"


def faults_and_stats(method, parts, body, faults, stats):
    """(status, JSON answer) of a faults or stats call, or None when ``parts`` (the path after /_sandbox) is neither.

    ``faults`` has list(), add(spec), clear() and remove(id); ``stats`` has snapshot() and reset()."""
    if parts == ["faults"]:
        if method == "GET":
            return 200, {"faults": faults.list()}
        if method == "POST":
            return 201, faults.add(body)
        if method == "DELETE":
            faults.clear()
            return 200, {"faults": []}
    if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
        if not faults.remove(parts[1]):
            return 404, {"error": "fault %s not found" % parts[1]}
        return 200, {"deleted": parts[1]}
    if parts == ["stats"] and method == "GET":
        return 200, stats.snapshot()
    if parts == ["stats", "reset"] and method == "POST":
        stats.reset()
        return 200, stats.snapshot()
    return None
