"""Start, stop and describe the local sandbox that stands in for AWS, EKS and the platform's servers.

Everything listens on 127.0.0.1, keeps its state and logs under .sandbox/, and never touches the
machine's own services. Usage: python sandbox/ctl.py up|down|status
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_DIR = os.environ.get("SANDBOX_DIR") or os.path.join(REPO_ROOT, ".sandbox")
LOG_DIR = os.path.join(STATE_DIR, "logs")
RUN_DIR = os.path.join(STATE_DIR, "run")
HOST = "127.0.0.1"
PG_BIN = os.environ.get("SANDBOX_PG_BIN", "/usr/lib/postgresql/15/bin")
VENV_BIN = os.path.dirname(sys.executable)
LOCAL_VAULT = os.environ.get("SANDBOX_LOCAL_VAULT") or os.path.join(REPO_ROOT, "inventories", "local", "group_vars", "all", "vault.yml")

# name -> (environment variable that moves the port, default port). The defaults sit below Linux's
# ephemeral range (32768-60999) so an outgoing connection never holds one of them by chance.
PORTS = {
    "postgresql": ("SANDBOX_PG_PORT", 25432),
    "moto": ("SANDBOX_MOTO_PORT", 25000),
    "prometheus": ("SANDBOX_PROMETHEUS_PORT", 29090),
    "alertmanager": ("SANDBOX_ALERTMANAGER_PORT", 29093),
    "kubeemu": ("SANDBOX_K8S_PORT", 26443),
}


class SandboxError(Exception):
    """A problem the user can fix; the message says how."""


def port_of(name):
    variable, default = PORTS[name]
    raw = os.environ.get(variable, "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SandboxError("%s=%r is not a TCP port; set it to a number between 1 and 65535" % (variable, raw))
    return int(raw)


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def wait_for(check, timeout, what, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SandboxError("%s did not come up within %ss; see %s" % (what, timeout, log))


def http_ok(url, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # nosec - 127.0.0.1 only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def load_secrets():
    """Credentials are made once per sandbox and kept (0600) so restarts reuse the same data dir."""
    path = os.path.join(STATE_DIR, "secrets.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    values = {
        "pg_password": secrets.token_urlsafe(18),
        "k8s_token": secrets.token_urlsafe(24),
        "vault_password": secrets.token_urlsafe(24),
        "app_db_password": secrets.token_urlsafe(18),
        "redis_password": secrets.token_urlsafe(18),
        "jwt_secret": secrets.token_urlsafe(32),
    }
    write_private(path, json.dumps(values, indent=2))
    return values


def write_private(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Service:
    """One background process with a pid file under .sandbox/run."""

    name = ""

    def __init__(self, creds):
        self.creds = creds
        self.port = port_of(self.name)
        self.log = os.path.join(LOG_DIR, self.name + ".log")
        self.pidfile = os.path.join(RUN_DIR, self.name + ".pid")
        self.portfile = os.path.join(RUN_DIR, self.name + ".port")

    def pid(self):
        try:
            with open(self.pidfile, encoding="utf-8") as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self):
        return self.pid() is not None

    def recorded_port(self):
        """The port the running copy was started on (None when unknown)."""
        try:
            with open(self.portfile, encoding="utf-8") as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def record_port(self):
        with open(self.portfile, "w", encoding="utf-8") as handle:
            handle.write(str(self.port))

    def command(self):
        raise SandboxError("%s has no command" % self.name)

    def prepare(self):
        """Create config and data directories before the first start."""

    def ready(self):
        return port_in_use(self.port)

    def start(self):
        self.prepare()
        env = dict(os.environ)
        env.update(self.extra_env())
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=REPO_ROOT, env=env, start_new_session=True,
            )
        with open(self.pidfile, "w", encoding="utf-8") as handle:
            handle.write(str(proc.pid))

        def check():
            if proc.poll() is not None:
                raise SandboxError("%s exited at start (code %s); see %s" % (self.name, proc.returncode, self.log))
            return self.ready()

        wait_for(check, 30, self.name, self.log)

    def extra_env(self):
        return {}

    def stop(self):
        pid = self.pid()
        if pid is None:
            remove(self.pidfile)
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
            reap(pid)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        remove(self.pidfile)
        return True


def remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class PostgreSQL(Service):
    """A private PostgreSQL 15 cluster made with initdb; never the machine's own cluster."""

    name = "postgresql"

    def __init__(self, creds):
        super().__init__(creds)
        self.base = os.path.join(STATE_DIR, "postgresql")
        self.data = os.path.join(self.base, "data")
        self.socket_dir = os.path.join(self.base, "run")
        # PostgreSQL refuses to run as root: drop to the postgres account when we are root.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid"), encoding="utf-8") as handle:
                pid = int(handle.readline().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def prepare(self):
        for tool in ("initdb", "pg_ctl"):
            if not os.path.exists(os.path.join(PG_BIN, tool)):
                raise SandboxError("%s not found in %s: install postgresql-15 (make bootstrap) or set SANDBOX_PG_BIN" % (tool, PG_BIN))
        os.makedirs(self.socket_dir, exist_ok=True)
        if self.as_user:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        if os.path.exists(os.path.join(self.data, "PG_VERSION")):
            return
        pwfile = os.path.join(self.base, "pwfile")
        write_private(pwfile, self.creds["pg_password"] + "\n")
        if self.as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres", "--auth=scram-sha-256",
                       "--pwfile", pwfile, "--encoding=UTF8", "--locale=C.UTF-8"])
        finally:
            remove(pwfile)

    def _run(self, cmd):
        with open(self.log, "ab") as log:
            proc = subprocess.run(self.as_user + cmd, stdout=log, stderr=subprocess.STDOUT, check=False, cwd="/")
        if proc.returncode != 0:
            raise SandboxError("%s failed (code %s); see %s" % (os.path.basename(cmd[0]), proc.returncode, self.log))

    def start(self):
        self.prepare()
        if self.as_user:
            open(self.log, "ab").close()  # pylint: disable=consider-using-with
            shutil.chown(self.log, "postgres", "postgres")
        options = "-c listen_addresses=%s -c port=%d -c unix_socket_directories=%s -c max_connections=50 -c fsync=off" % (
            HOST, self.port, self.socket_dir)
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o", options, "start"])

    def stop(self):
        if self.pid() is None:
            return False
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"])
        return True


class Moto(Service):
    """moto in server mode: the AWS endpoint for boto3 and the amazon.aws modules."""

    name = "moto"

    def command(self):
        return [os.path.join(VENV_BIN, "moto_server"), "-H", HOST, "-p", str(self.port)]

    def ready(self):
        return http_ok("http://%s:%d/moto-api/data.json" % (HOST, self.port))


class PrometheusComponent(Service):
    """A Prometheus-project server from Debian with a private config, data dir and /-/ready probe."""

    config_name = ""

    def __init__(self, creds):
        super().__init__(creds)
        self.base = os.path.join(STATE_DIR, self.name)
        self.config = os.path.join(self.base, self.config_name)

    def config_text(self):
        raise SandboxError("%s has no config" % self.name)

    def prepare(self):
        # Rewritten at every start, so a moved port reaches the config too.
        os.makedirs(os.path.join(self.base, "data"), exist_ok=True)
        with open(self.config, "w", encoding="utf-8") as handle:
            handle.write(self.config_text())

    def ready(self):
        return http_ok("http://%s:%d/-/ready" % (HOST, self.port))


class Prometheus(PrometheusComponent):
    """Debian's Prometheus (no kubernetes_sd_configs in this build: scrape configs use static targets)."""

    name = "prometheus"
    config_name = "prometheus.yml"

    def config_text(self):
        rules = os.path.join(self.base, "rules")
        os.makedirs(rules, exist_ok=True)
        return PROMETHEUS_CONFIG % {"host": HOST, "alertmanager": port_of("alertmanager"), "self": self.port, "rules": rules}

    def command(self):
        return ["prometheus", "--config.file=" + self.config, "--storage.tsdb.path=" + os.path.join(self.base, "data"),
                "--web.listen-address=%s:%d" % (HOST, self.port), "--web.enable-lifecycle", "--web.enable-admin-api",
                "--storage.tsdb.retention.time=1d"]


class Alertmanager(PrometheusComponent):
    """Debian's Alertmanager; clustering off so it opens no other port."""

    name = "alertmanager"
    config_name = "alertmanager.yml"

    def config_text(self):
        return ALERTMANAGER_CONFIG

    def command(self):
        return ["prometheus-alertmanager", "--config.file=" + self.config, "--storage.path=" + os.path.join(self.base, "data"),
                "--web.listen-address=%s:%d" % (HOST, self.port), "--cluster.listen-address="]


class KubeEmulator(Service):
    """The project's Kubernetes API emulator (sandbox/kubeemu)."""

    name = "kubeemu"

    def command(self):
        return [sys.executable, "-m", "kubeemu", "--host", HOST, "--port", str(self.port), "--token", self.creds["k8s_token"],
                "--ready-delay", os.environ.get("SANDBOX_K8S_READY_DELAY", "0.3")]

    def extra_env(self):
        return {"PYTHONPATH": os.path.join(REPO_ROOT, "sandbox")}

    def ready(self):
        return http_ok("http://%s:%d/version" % (HOST, self.port), self.creds["k8s_token"])


PROMETHEUS_CONFIG = """# Written by sandbox/ctl.py for the local sandbox only.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['%(host)s:%(alertmanager)d']
rule_files:
  - '%(rules)s/*.yml'
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['%(host)s:%(self)d']
"""

ALERTMANAGER_CONFIG = """# Written by sandbox/ctl.py for the local sandbox only.
route:
  receiver: sandbox-null
  group_by: ['alertname']
receivers:
  - name: sandbox-null
"""

SERVICES = [PostgreSQL, Moto, Prometheus, Alertmanager, KubeEmulator]


def kubeconfig_text(creds):
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {"server": "http://%s:%d" % (HOST, port_of("kubeemu"))}}],
        "users": [{"name": "sandbox-admin", "user": {"token": creds["k8s_token"]}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox-admin"}}],
        "current-context": "sandbox",
    }, indent=2) + "\n"


def env_values(creds):
    kubeconfig = os.path.join(STATE_DIR, "kubeconfig")
    return {
        "LOYALTY_SANDBOX_DIR": STATE_DIR,
        "PGHOST": HOST,
        "PGPORT": str(port_of("postgresql")),
        "PGUSER": "postgres",
        "PGPASSWORD": creds["pg_password"],
        "PGDATABASE": "postgres",
        "AWS_ENDPOINT_URL": "http://%s:%d" % (HOST, port_of("moto")),
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_REGION": "us-west-2",
        "PROMETHEUS_URL": "http://%s:%d" % (HOST, port_of("prometheus")),
        "ALERTMANAGER_URL": "http://%s:%d" % (HOST, port_of("alertmanager")),
        "K8S_AUTH_KUBECONFIG": kubeconfig,
        "KUBECONFIG": kubeconfig,
        "KUBEEMU_URL": "http://%s:%d" % (HOST, port_of("kubeemu")),
        "KUBEEMU_TOKEN": creds["k8s_token"],
        "ANSIBLE_VAULT_PASSWORD_FILE": os.path.join(STATE_DIR, "vault-pass"),
    }


def write_local_vault(creds):
    """The local inventory's vault: sandbox-only credentials, encrypted, never committed."""
    vault_pass = os.path.join(STATE_DIR, "vault-pass")
    write_private(vault_pass, creds["vault_password"] + "\n")
    plain = (
        "---\n"
        "vault_loyalty_db_username: loyalty_app\n"
        "vault_loyalty_db_password: %(app_db_password)s\n"
        "vault_loyalty_redis_password: %(redis_password)s\n"
        "vault_loyalty_jwt_secret: %(jwt_secret)s\n"
    ) % creds
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-vault"), "encrypt", "--vault-password-file", vault_pass, "--output", LOCAL_VAULT, "-"],
        input=plain, text=True, capture_output=True, check=False, cwd=REPO_ROOT,
    )
    if proc.returncode != 0:
        raise SandboxError("could not write %s: %s" % (LOCAL_VAULT, proc.stderr.strip()))


def write_env(creds):
    values = env_values(creds)
    lines = ["# Written by `make sandbox-up`; source it to point tools at the sandbox."]
    lines += ["export %s=%s" % (name, shell_quote(value)) for name, value in values.items()]
    write_private(os.path.join(STATE_DIR, "env"), "\n".join(lines) + "\n")
    write_private(os.path.join(STATE_DIR, "kubeconfig"), kubeconfig_text(creds))


def shell_quote(value):
    return "'" + value.replace("'", "'\"'\"'") + "'"


def up():
    os.makedirs(LOG_DIR, exist_ok=True)
    os.makedirs(RUN_DIR, exist_ok=True)
    creds = load_secrets()
    services = [cls(creds) for cls in SERVICES]
    to_start = [svc for svc in services if not svc.running()]
    # Check every port before starting anything, so a conflict leaves nothing half-started.
    taken = [svc for svc in to_start if port_in_use(svc.port)]
    seen = {}
    for svc in services:
        if svc.port in seen:
            raise SandboxError("%s and %s both use port %d: move one with %s=<port>" % (
                seen[svc.port].name, svc.name, svc.port, PORTS[svc.name][0]))
        seen[svc.port] = svc
    if taken:
        raise SandboxError("\n".join(
            "port %d on %s, needed by %s, is already in use: free it or move %s with %s=<port>" % (
                svc.port, HOST, svc.name, svc.name, PORTS[svc.name][0]) for svc in taken))
    # A copy already running on another port would leave .sandbox/env pointing at the wrong place.
    moved = [svc for svc in services if svc not in to_start and svc.recorded_port() != svc.port]
    if moved:
        raise SandboxError("\n".join(
            "%s already runs on port %s, not on %d as %s asks: run `make sandbox-down` first to move it" % (
                svc.name, svc.recorded_port() or "unknown", svc.port, PORTS[svc.name][0]) for svc in moved))
    started = []
    try:
        for svc in to_start:
            svc.start()
            svc.record_port()
            started.append(svc)
            print("started %-12s on %s:%d" % (svc.name, HOST, svc.port))
        write_env(creds)
        write_local_vault(creds)
    except BaseException:
        for svc in reversed(started):
            svc.stop()
        raise
    for svc in services:
        if svc not in to_start:
            print("running %-12s on %s:%d (already up)" % (svc.name, HOST, svc.port))
    print("sandbox ready: source %s" % os.path.join(STATE_DIR, "env"))


def down():
    if not os.path.isdir(STATE_DIR):
        print("sandbox is not running")
        return
    creds = load_secrets()
    stopped = [svc.name for svc in (cls(creds) for cls in reversed(SERVICES)) if svc.stop()]
    print("stopped: %s" % (", ".join(stopped) if stopped else "nothing was running"))


def status():
    if not os.path.isdir(STATE_DIR):
        print("sandbox is not running")
        return 3
    creds = load_secrets()
    down_count = 0
    for cls in SERVICES:
        svc = cls(creds)
        state = "running" if svc.running() else "stopped"
        down_count += state == "stopped"
        print("%-12s %-8s %s:%d (%s)" % (svc.name, state, HOST, svc.port, PORTS[svc.name][0]))
    return 0 if down_count == 0 else 3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            up()
        elif args.action == "down":
            down()
        else:
            return status()
    except SandboxError as exc:
        print("sandbox: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
