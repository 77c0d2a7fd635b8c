"""Runs tools/grok-harness (OpenSearch's grok engine) on a filter chain spec and log lines, for the tests and the bench."""

import json
import os
import shutil
import subprocess

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAR = os.path.join(REPO_ROOT, "tools", "grok-harness", "target", "grok-harness.jar")
BUILD_HINT = "build it with `make grok-harness` (Maven and a JDK >= 17, see bindep.txt)"


class HarnessError(RuntimeError):
    """The harness exited non-zero: ``returncode`` and ``stderr`` (the engine's message)."""

    def __init__(self, returncode, stderr):
        super().__init__("grok harness exited %d: %s" % (returncode, stderr.strip()))
        self.returncode = returncode
        self.stderr = stderr


def java():
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def missing():
    """Why the harness cannot run here (None when it can)."""
    if not java():
        return "no java on PATH (nor in JAVA_HOME): " + BUILD_HINT
    if not os.path.exists(JAR):
        return "%s is missing: %s" % (os.path.relpath(JAR, REPO_ROOT), BUILD_HINT)
    return None


def run_harness(spec, lines, repeat=1, timezone=None, warmup=0, jar=JAR, timeout=300):
    """The harness's answer for one request: a dict with events, seconds, events_per_second and failed_share.

    ``timezone`` (such as "UTC" or "America/New_York") is the JVM's default zone, set both ways (TZ and
    -Duser.timezone); None leaves the machine's. ``warmup`` untimed passes come before the ``repeat`` timed ones.
    A non-zero exit raises HarnessError.
    """
    env = dict(os.environ)
    command = [java(), "-XX:+UseSerialGC"]
    if timezone:
        env["TZ"] = timezone
        command.append("-Duser.timezone=" + timezone)
    command += ["-jar", jar]
    request = json.dumps({"spec": spec, "lines": list(lines), "repeat": int(repeat), "warmup": int(warmup)})
    proc = subprocess.run(command, input=request, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise HarnessError(proc.returncode, proc.stderr)
    return json.loads(proc.stdout)
