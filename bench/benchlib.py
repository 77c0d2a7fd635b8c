"""Helpers shared by the benchmarks: sandbox endpoints, the fault proxy's request counter, timing."""

import json
import os
import shlex
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "sandbox"))

from kubesandbox.control import Control  # noqa: E402  pylint: disable=wrong-import-position


def read_sandbox_env(path=os.path.join(REPO_ROOT, ".sandbox", "env")):
    """Parse the `export NAME=value` lines written by `make sandbox-up`."""
    if not os.path.exists(path):
        raise SystemExit("the sandbox is not running: start it with `make sandbox-up`")
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("export "):
                name, raw = line[len("export "):].split("=", 1)
                parts = shlex.split(raw)
                values[name] = parts[0] if parts else ""
    return values


class Context:  # pylint: disable=too-few-public-methods
    """What a benchmark's run(ctx) gets: where the repository is and the sandbox endpoints."""

    def __init__(self):
        self.repo_root = REPO_ROOT
        self.sandbox = read_sandbox_env()


def run_standalone(run):
    """`python bench/bench_<name>.py`: one benchmark's figures as JSON, without bench/run.py's table."""
    print(json.dumps(run(Context()), indent=2))


class ApiStats:
    """Reads and resets the API request counter of the sandbox's fault proxy."""

    def __init__(self, sandbox):
        self.control = Control(sandbox)

    def reset(self):
        self.control.reset_stats()

    def read(self):
        return self.control.stats()


def timed(func, *args, **kwargs):
    """Run func and return (seconds, result)."""
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - started, result


def run_playbook(ctx, playbook, extra_args=()):
    """Run ansible-playbook against inventories/local with the sandbox environment; return wall seconds."""
    env = dict(os.environ)
    env.update(ctx.sandbox)
    env["ANSIBLE_CONFIG"] = os.path.join(REPO_ROOT, "ansible.cfg")
    cmd = [os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook"), playbook, "-i", "inventories/local"] + list(extra_args)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s\n%s" % (" ".join(cmd), proc.stdout[-3000:], proc.stderr[-2000:]))
    return seconds, proc.stdout


def run_json_playbook(ctx, args):
    """ansible-playbook ``args`` (a playbook and its options) with the sandbox environment and the json callback:
    (wall seconds, [(task name, localhost's result), ...]); a failed run raises with its output's tail."""
    env = dict(os.environ)
    env.update(ctx.sandbox)
    env["ANSIBLE_CONFIG"] = os.path.join(REPO_ROOT, "ansible.cfg")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    cmd = [os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook")] + list(args)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s\n%s" % (" ".join(cmd[:2]), proc.stdout[-4000:], proc.stderr[-2000:]))
    data = json.loads(proc.stdout[proc.stdout.find("{"):])
    return seconds, [(task["task"]["name"], task["hosts"]["localhost"]) for play in data["plays"] for task in play["tasks"]]
