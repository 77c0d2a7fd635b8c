"""playbooks/infra.yml against the sandbox's moto: wall time and AWS requests of a first run (everything created)
and a second, no-op run, on a fresh environment name; the same for the production layout of the network (three
zones, a NAT gateway per zone) at the local sizes.

Requests are counted by the sandbox's AWS front, by operation. The no-op run's targets: at most one describe per
resource (the plan's resource count), no write at all, under 15 s; printed, never asserted. The headline ratio is
no-op / first run. The environment is torn down afterwards (its teardown time is printed too).
"""

import json
import os
import sys
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from benchlib import run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from s3front.control import S3Front  # noqa: E402  pylint: disable=wrong-import-position

READS = ("Describe", "List", "Get", "Head", "BatchGet")


# The production layout of the network (three zones, a NAT gateway and a private route table per zone) with the local
# environment's sizes: the same read, more resources.
PRODUCTION_SHAPED = {
    "aws_infra_availability_zones": ["us-west-2a", "us-west-2b", "us-west-2c"],
    "aws_infra_private_subnet_cidrs": ["10.20.1.0/24", "10.20.2.0/24", "10.20.3.0/24"],
    "aws_infra_public_subnet_cidrs": ["10.20.101.0/24", "10.20.102.0/24", "10.20.103.0/24"],
    "aws_infra_nat_gateway_per_az": True,
}


def measure(ctx, front, extra=None):
    """First run, no-op run, plan and teardown of a new environment; its figures."""
    project = "bench%s" % uuid.uuid4().hex[:6]
    outputs = "/tmp/%s-infra-outputs.json" % project
    args = ["-e", json.dumps(dict({"loyalty_project": project, "aws_infra_outputs_file": outputs}, **(extra or {})))]
    figures = {"environment": project + "-local"}
    try:
        for name in ("first", "noop"):
            front.reset_stats()
            seconds, _out = run_playbook(ctx, "playbooks/infra.yml", args)
            operations = front.stats()["operations"]
            reads = sum(count for op, count in operations.items() if op.startswith(READS))
            figures[name + "_seconds"] = round(seconds, 1)
            figures[name + "_requests"] = sum(operations.values())
            figures[name + "_reads"] = reads
            figures[name + "_writes"] = figures[name + "_requests"] - reads
            figures[name + "_requests_by_operation"] = operations
        front.reset_stats()
        _seconds, plan = run_playbook(ctx, "playbooks/infra.yml", args + ["--check"])
        resources = plan.count("no change ") + plan.count("~ change ") + plan.count("+ create ")
        figures["resources"] = resources
        figures["noop_reads_per_resource"] = round(figures["noop_reads"] / float(resources), 2) if resources else None
    finally:
        seconds, _out = run_playbook(ctx, "playbooks/infra.yml", args + ["-e", "state=absent"])
        figures["teardown_seconds"] = round(seconds, 1)
    return figures


def run(ctx):
    front = S3Front(ctx.sandbox["SANDBOX_AWS_FRONT_URL"])
    figures = measure(ctx, front)
    shaped = measure(ctx, front, PRODUCTION_SHAPED)
    kept = ("resources", "first_seconds", "noop_seconds", "noop_reads", "noop_writes", "noop_reads_per_resource", "teardown_seconds")
    figures["production_shaped"] = {key: shaped[key] for key in kept}
    figures.update({"baseline": figures["first_seconds"], "ours": figures["noop_seconds"],
                    "ratio": round(figures["noop_seconds"] / figures["first_seconds"], 3)})
    return figures


if __name__ == "__main__":
    from benchlib import run_standalone  # noqa: E402  pylint: disable=wrong-import-position,ungrouped-imports

    run_standalone(run)
