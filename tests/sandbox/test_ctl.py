"""The sandbox manager's contract: clear port conflicts, nothing half-started, idempotent up, quiet down.

Each test runs a private sandbox (own state dir, own ports) so it never disturbs `make sandbox-up`'s.
"""

import importlib.util
import json
import secrets
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest
import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = os.path.join(REPO_ROOT, "sandbox", "ctl.py")


def _port_variables():
    """Every SANDBOX_*_PORT variable of sandbox/ctl.py's PORTS table, so a private sandbox moves them all."""
    spec = importlib.util.spec_from_file_location("sandbox_ctl", CTL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [variable for variable, _default in module.PORTS.values()]


VARIABLES = _port_variables()
# A pod network of its own, so a private sandbox never competes with `make sandbox-up`'s routes.
PRIVATE_POD_CIDR = "10.245.0.0/16"


def free_ports(count):
    socks, ports = [], []
    for _index in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        socks.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in socks:
        sock.close()
    return ports


def exported_names(path):
    """The names an env file of sandbox/ctl.py exports (none when there is no such file)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [line[len("export "):].split("=", 1)[0] for line in handle if line.startswith("export ")]
    except OSError:
        return []


def private_env(base, pod_cidr):
    """The environment of a private sandbox under ``base``: its own state folder, vault, free ports and pod network."""
    env = dict(os.environ)
    # Run with `.sandbox/env` loaded, the shared sandbox's exports (its vault password file, say) must not reach the private one.
    for name in exported_names(os.path.join(REPO_ROOT, ".sandbox", "env")):
        env.pop(name, None)
    env["SANDBOX_DIR"] = os.path.join(base, "sandbox")
    env["SANDBOX_LOCAL_VAULT"] = os.path.join(base, "vault.yml")
    env.update(dict(zip(VARIABLES, map(str, free_ports(len(VARIABLES))))))
    env["SANDBOX_POD_CIDR"] = pod_cidr
    return env


@pytest.fixture
def private_sandbox(request):
    # Not pytest's tmp_path: its parents are private to root, and PostgreSQL runs as its own account.
    # A test marked `private_folder` gets a 0700 folder instead, like root's home.
    base = tempfile.mkdtemp(prefix="loyalty-sandbox-test-")
    os.chmod(base, 0o700 if request.node.get_closest_marker("private_folder") else 0o755)
    env = private_env(base, PRIVATE_POD_CIDR)

    def ctl(*args):
        return subprocess.run([sys.executable, CTL] + list(args), env=env, capture_output=True, text=True, check=False, timeout=120)

    yield env, ctl
    ctl("down")
    shutil.rmtree(base, ignore_errors=True)


def listening(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_port_taken_names_port_and_variable_and_starts_nothing(private_sandbox):
    env, ctl = private_sandbox
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", int(env["SANDBOX_PROMETHEUS_PORT"])))
    blocker.listen()
    try:
        proc = ctl("up")
    finally:
        blocker.close()
    assert proc.returncode != 0
    assert "port %s" % env["SANDBOX_PROMETHEUS_PORT"] in proc.stderr
    assert "SANDBOX_PROMETHEUS_PORT" in proc.stderr
    for variable in VARIABLES:
        if variable != "SANDBOX_PROMETHEUS_PORT":
            assert not listening(int(env[variable])), "%s was started although up failed" % variable
    assert not os.path.exists(os.path.join(env["SANDBOX_DIR"], "env"))


def test_up_twice_runs_one_copy_and_down_stops_all(private_sandbox):
    env, ctl = private_sandbox
    first = ctl("up")
    assert first.returncode == 0, first.stderr
    pids = {}
    run_dir = os.path.join(env["SANDBOX_DIR"], "run")
    for name in os.listdir(run_dir):
        with open(os.path.join(run_dir, name), encoding="utf-8") as handle:
            pids[name] = handle.read()
    second = ctl("up")
    assert second.returncode == 0, second.stderr
    assert "already up" in second.stdout
    assert "started" not in second.stdout
    for name, pid in pids.items():
        with open(os.path.join(run_dir, name), encoding="utf-8") as handle:
            assert handle.read() == pid, "%s was started a second time" % name

    with open(os.path.join(env["SANDBOX_DIR"], "env"), encoding="utf-8") as handle:
        exported = handle.read()
    for name in ("K8S_AUTH_KUBECONFIG", "AWS_ENDPOINT_URL", "PGPASSWORD", "PROMETHEUS_URL", "ALERTMANAGER_URL", "SANDBOX_K8S_TOKEN", "SANDBOX_K8S_CA",
                 "SANDBOX_AWS_FRONT_URL", "SANDBOX_MOTO_URL", "PUSHGATEWAY_URL", "SANDBOX_PROMTOOL", "SANDBOX_AMTOOL",
                 "SANDBOX_PROMETHEUS_CONFIG", "SANDBOX_PROMETHEUS_RULES_DIR", "SANDBOX_ALERTMANAGER_CONFIG",
                 "SANDBOX_PROMETHEUS_KUBECONFIG"):
        assert "export %s=" % name in exported
    # AWS clients reach moto through the front; moto itself stays reachable for its /moto-api.
    front = "http://127.0.0.1:%s" % env["SANDBOX_AWS_PORT"]
    assert "export AWS_ENDPOINT_URL='%s'" % front in exported and "export SANDBOX_AWS_FRONT_URL='%s'" % front in exported
    assert requests.get(front + "/_sandbox/stats", timeout=5).json()["total"] == 0
    assert requests.get("http://127.0.0.1:%s/moto-api/data.json" % env["SANDBOX_MOTO_PORT"], timeout=5).ok
    assert requests.get("http://127.0.0.1:%s/-/ready" % env["SANDBOX_PUSHGATEWAY_PORT"], timeout=5).ok
    assert oct(os.stat(os.path.join(env["SANDBOX_DIR"], "env")).st_mode & 0o777) == "0o600"
    # A second test process's env: its clients reach the fault proxy's second listener, and it names itself so
    # that the test suites (which read the env files) take its values over .sandbox/env's.
    lane_env = os.path.join(env["SANDBOX_DIR"], "lane2", "env")
    with open(lane_env, encoding="utf-8") as handle:
        lane = handle.read()
    lane_url = "https://127.0.0.1:%s" % env["SANDBOX_K8S_LANE2_PORT"]
    assert "export SANDBOX_K8S_URL='%s'" % lane_url in lane and "export SANDBOX_LANE_ENV='%s'" % lane_env in lane
    with open(os.path.join(env["SANDBOX_DIR"], "lane2", "kubeconfig"), encoding="utf-8") as handle:
        assert json.load(handle)["clusters"][0]["cluster"]["server"] == lane_url
    values = dict(shlex.split(line[len("export "):])[0].split("=", 1) for line in exported.splitlines() if line.startswith("export "))
    assert requests.get(lane_url + "/readyz", verify=values["SANDBOX_K8S_CA"], timeout=5,
                        headers={"Authorization": "Bearer " + values["SANDBOX_K8S_TOKEN"]}).ok
    with open(env["SANDBOX_LOCAL_VAULT"], encoding="utf-8") as handle:
        assert handle.read().startswith("$ANSIBLE_VAULT;")
    assert requests.get("http://127.0.0.1:%s/-/ready" % env["SANDBOX_PROMETHEUS_PORT"], timeout=5).ok

    # Asking for another port while a copy runs must not rewrite .sandbox/env to a port nobody listens on.
    running_port = env["SANDBOX_K8S_PORT"]
    env["SANDBOX_K8S_PORT"] = str(free_ports(1)[0])
    moved = ctl("up")
    assert moved.returncode != 0
    assert "SANDBOX_K8S_PORT" in moved.stderr and "sandbox-down" in moved.stderr
    with open(os.path.join(env["SANDBOX_DIR"], "env"), encoding="utf-8") as handle:
        assert handle.read() == exported
    env["SANDBOX_K8S_PORT"] = running_port

    # A Prometheus started with an older config (no pushgateway job) loads the current one at the next up.
    config = os.path.join(env["SANDBOX_DIR"], "prometheus", "prometheus.yml")
    with open(config, encoding="utf-8") as handle:
        current = handle.read()
    assert "job_name: pushgateway\n    honor_labels: true" in current
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(current[:current.index("  - job_name: pushgateway")])
    assert requests.post("http://127.0.0.1:%s/-/reload" % env["SANDBOX_PROMETHEUS_PORT"], timeout=30).ok
    refreshed = ctl("up")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "config reloaded" in refreshed.stdout and "started" not in refreshed.stdout
    loaded = requests.get("http://127.0.0.1:%s/api/v1/status/config" % env["SANDBOX_PROMETHEUS_PORT"], timeout=10).json()
    assert "job_name: pushgateway" in loaded["data"]["yaml"] and "honor_labels: true" in loaded["data"]["yaml"]

    down = ctl("down")
    assert down.returncode == 0
    for variable in VARIABLES:
        assert not listening(int(env[variable])), "%s still listening after down" % variable


def test_down_with_nothing_running_exits_zero(private_sandbox):
    ctl = private_sandbox[1]
    proc = ctl("down")
    assert proc.returncode == 0
    assert "not running" in proc.stdout or "nothing was running" in proc.stdout


def test_bad_port_value_is_refused_before_anything_starts(private_sandbox):
    env, ctl = private_sandbox
    env["SANDBOX_MOTO_PORT"] = "not-a-port"
    proc = ctl("up")
    assert proc.returncode != 0
    assert "SANDBOX_MOTO_PORT" in proc.stderr
    assert not listening(int(env["SANDBOX_PG_PORT"]))


@pytest.mark.private_folder
@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another account")
def test_a_clone_in_a_folder_postgres_cannot_enter_still_starts(private_sandbox):
    env, ctl = private_sandbox
    proc = ctl("up")
    assert proc.returncode == 0, proc.stderr
    assert "cannot enter" in proc.stdout and "/var/tmp/loyalty-platform-sandbox-" in proc.stdout
    link = os.path.join(env["SANDBOX_DIR"], "postgresql")
    assert os.path.islink(link) and os.readlink(link).startswith("/var/tmp/loyalty-platform-sandbox-")
    query = subprocess.run(["psql", "-h", "127.0.0.1", "-p", env["SANDBOX_PG_PORT"], "-U", "postgres", "-tAc", "select 1"],
                           env=dict(env, PGPASSWORD=read_secret(env, "pg_password")), capture_output=True, text=True, check=False)
    assert query.stdout.strip() == "1", query.stderr
    assert ctl("down").returncode == 0
    shutil.rmtree(os.path.dirname(os.readlink(link)), ignore_errors=True)


def read_secret(env, name):
    with open(os.path.join(env["SANDBOX_DIR"], "secrets.json"), encoding="utf-8") as handle:
        return json.load(handle)[name]


STALE_POD_CIDR = "10.246.0.0/16"


def _ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True, text=True)


def _routed(cidr):
    return subprocess.run(["ip", "-4", "route", "show", cidr], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def foreign_pod_network():
    """A pod network some other sandbox (state dir of the test's choosing) made: namespace, veth pair and route."""
    owners = tempfile.mkdtemp(prefix="loyalty-sandbox-owners-")
    made = []

    def make(owner_dir, tag=None):
        tag = tag or secrets.token_hex(3)
        netns, host_if = "loyalty-sbx-" + tag, "lps%sh" % tag
        _ip("netns", "add", netns)
        made.append((netns, host_if))
        _ip("link", "add", host_if, "type", "veth", "peer", "name", "lps%sn" % tag)
        _ip("link", "set", "lps%sn" % tag, "netns", netns)
        _ip("addr", "add", "169.254.250.1/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("route", "add", STALE_POD_CIDR, "via", "169.254.250.2", "dev", host_if)
        if owner_dir is not None:
            with open(os.path.join(owners, netns), "w", encoding="utf-8") as handle:
                handle.write(owner_dir + "\n")
        return netns, host_if

    def preflight():
        env = dict(os.environ, SANDBOX_POD_CIDR=STALE_POD_CIDR, SANDBOX_NETNS_OWNERS=owners,
                   SANDBOX_DIR=os.path.join(owners, "this-sandbox"))
        code = "import sys; sys.path.insert(0, %r); import ctl; ctl.PodNetwork({}).preflight()" % os.path.dirname(CTL)
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=60)

    yield make, preflight
    for netns, host_if in made:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
    shutil.rmtree(owners, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_a_killed_sandboxs_pod_network_is_reclaimed(foreign_pod_network):
    """A sandbox killed without `down` leaves its namespace and route; the next `up` removes them, and only them."""
    make, preflight = foreign_pod_network
    netns, host_if = make("/nonexistent/clone/.sandbox")
    proc = preflight()
    assert proc.returncode == 0, proc.stderr
    assert "no longer running (/nonexistent/clone/.sandbox)" in proc.stdout
    assert _routed(STALE_POD_CIDR) == ""
    assert netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert subprocess.run(["ip", "link", "show", host_if], capture_output=True, check=False).returncode != 0


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_a_live_sandboxs_pod_network_is_left_alone(foreign_pod_network, tmp_path):
    make, preflight = foreign_pod_network
    owner = tmp_path / "live" / ".sandbox"
    (owner / "run").mkdir(parents=True)
    (owner / "run" / "kube-apiserver.pid").write_text(str(os.getpid()))  # a process that is alive
    netns, host_if = make(str(owner))
    proc = preflight()
    assert proc.returncode != 0
    assert "already routed" in proc.stderr and "SANDBOX_POD_CIDR" in proc.stderr and host_if in proc.stderr
    assert host_if in _routed(STALE_POD_CIDR)
    assert netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_a_route_without_an_owner_record_is_left_alone(foreign_pod_network):
    """No record, no proof it is ours: an unknown route may be a real network, so up refuses and touches nothing."""
    make, preflight = foreign_pod_network
    _netns, host_if = make(None)
    proc = preflight()
    assert proc.returncode != 0 and "already routed" in proc.stderr
    assert host_if in _routed(STALE_POD_CIDR)
