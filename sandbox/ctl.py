"""Start, stop and describe the local sandbox that stands in for AWS, EKS and the platform's servers.

Everything listens on 127.0.0.1, keeps its state and logs under .sandbox/, and never touches the
machine's own services. Usage: python sandbox/ctl.py up|down|status
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

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
    # The front every AWS client reaches moto through (AWS_ENDPOINT_URL): statistics, faults, S3's limits.
    "aws-front": ("SANDBOX_AWS_PORT", 25001),
    "prometheus": ("SANDBOX_PROMETHEUS_PORT", 29090),
    "alertmanager": ("SANDBOX_ALERTMANAGER_PORT", 29093),
    "pushgateway": ("SANDBOX_PUSHGATEWAY_PORT", 29091),
    # sandbox/elasticsearch: a stand-in for the Elasticsearch 8 REST endpoints the collection uses, not Elasticsearch.
    "elasticsearch": ("SANDBOX_ELASTICSEARCH_PORT", 29200),
    "etcd": ("SANDBOX_ETCD_PORT", 26379),
    "etcd-peer": ("SANDBOX_ETCD_PEER_PORT", 26380),
    "kube-apiserver": ("SANDBOX_APISERVER_PORT", 26446),
    "kube-controller-manager": ("SANDBOX_KCM_PORT", 26257),
    "kube-scheduler": ("SANDBOX_SCHEDULER_PORT", 26259),
    "kwok": ("SANDBOX_KWOK_PORT", 26247),
    # The fault proxy in front of kube-apiserver: the address every client's kubeconfig names.
    "kubesandbox": ("SANDBOX_K8S_PORT", 26443),
    # The same proxy for a second test process beside the first (.sandbox/lane2/env): request counts of its own.
    "kubesandbox-lane2": ("SANDBOX_K8S_LANE2_PORT", 26444),
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


def log_tail(path, lines=15):
    """The last lines of a log, indented, for an error message."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            tail = handle.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n  last lines of %s:\n    " % path) + "\n    ".join(tail) if tail else ""


def wait_for(check, timeout, what, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SandboxError("%s did not come up within %ss; see %s%s" % (what, timeout, log, log_tail(log)))


def http_ok(url, token=None, basic=None):
    """True when ``url`` answers 2xx; an https URL is verified against the sandbox CA (ssl.SSLError is an OSError).
    ``token`` is sent as a bearer token, ``basic`` (user, password) as basic auth."""
    context = ssl.create_default_context(cafile=os.path.join(PKI_DIR, "ca.crt")) if url.startswith("https:") else None
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if basic:
        request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % basic).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:  # nosec - 127.0.0.1 only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


# The services' PostgreSQL user in the sandbox (the local vault's vault_loyalty_db_username).
APP_DB_USER = "loyalty_app"

SECRET_NAMES = {
    "pg_password": 18, "k8s_token": 24, "vault_password": 24, "app_db_password": 18, "redis_password": 18,
    "jwt_secret": 32, "db_master_password": 18, "k8s_kcm_token": 24, "k8s_scheduler_token": 24, "k8s_kwok_token": 24,
    "elasticsearch_password": 18,
    "elasticsearch_api_key": 24,
}


def load_secrets():
    """Credentials are made once per sandbox and kept (0600) so restarts reuse the same data dir."""
    path = os.path.join(STATE_DIR, "secrets.json")
    values = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            values = json.load(handle)
    # The Redis password is also ElastiCache's AUTH token, which takes letters, digits and !&#$^<>- only.
    if "redis_password" in values and not values["redis_password"].isalnum():
        del values["redis_password"]
    missing = [name for name in SECRET_NAMES if name not in values]
    for name in missing:
        values[name] = secrets.token_hex(SECRET_NAMES[name]) if name == "redis_password" else secrets.token_urlsafe(SECRET_NAMES[name])
    if missing:
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
    start_timeout = 30

    # Further ports the service opens beside its main one (names in PORTS).
    extra_ports = ()

    def __init__(self, creds):
        self.creds = creds
        self.port = port_of(self.name) if self.name in PORTS else None
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

    def ports(self):
        """(PORTS name, port) of every port this service listens on."""
        named = [(self.name, self.port)] if self.port is not None else []
        return named + [(name, port_of(name)) for name in self.extra_ports]

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
                raise SandboxError("%s exited at start (code %s); see %s%s" % (self.name, proc.returncode, self.log, log_tail(self.log)))
            return self.ready()

        try:
            wait_for(check, self.start_timeout, self.name, self.log)
        except SandboxError:
            self.stop()
            raise

    def extra_env(self):
        return {}

    def stale(self):
        """Why a running copy must be restarted by `up` (a string), or None to keep it."""
        return None

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
        # PostgreSQL refuses to run as root: drop to the postgres account when we are root.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.link = os.path.join(STATE_DIR, "postgresql")
        self._place(os.path.realpath(self.link))

    def _place(self, base):
        self.base = base
        self.data = os.path.join(base, "data")
        self.socket_dir = os.path.join(base, "run")
        if base != os.path.join(os.path.realpath(STATE_DIR), "postgresql"):
            # Relocated (see _relocate_if_unreachable): the postgres account writes its log there too.
            self.log = os.path.join(base, "postgresql.log")

    def _relocate_if_unreachable(self):
        """The postgres account must reach its data directory. A clone in a folder it cannot enter (root's
        0700 home, for one) keeps the cluster under /var/tmp instead, linked from .sandbox/postgresql."""
        if not self.as_user or os.path.lexists(self.link):
            return
        probe = subprocess.run(self.as_user + ["test", "-x", STATE_DIR], capture_output=True, check=False, cwd="/")
        if probe.returncode == 0:
            return
        tag = hashlib.sha256(os.path.realpath(STATE_DIR).encode()).hexdigest()[:10]
        base = os.path.join("/var/tmp", "loyalty-platform-sandbox-" + tag, "postgresql")
        os.makedirs(base, mode=0o700, exist_ok=True)
        shutil.chown(os.path.dirname(base), "postgres", "postgres")
        os.symlink(base, self.link)
        print("note: the postgres account cannot enter %s, so the sandbox's PostgreSQL keeps its data in %s" % (STATE_DIR, base))
        self._place(base)

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
        self._relocate_if_unreachable()
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
        self.ensure_app_role()

    def ensure_app_role(self):
        """The services' PostgreSQL user (vault_loyalty_db_username of the local vault) exists with the vault's
        password, as it does on an environment's provisioned database: health checks and the services log in as it."""
        statement = ("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%(role)s') THEN "
                     "CREATE ROLE %(role)s LOGIN; END IF; END $$; ALTER ROLE %(role)s LOGIN PASSWORD '%(password)s';") % {
                         "role": APP_DB_USER, "password": self.creds["app_db_password"]}
        env = dict(os.environ, PGPASSWORD=self.creds["pg_password"])
        proc = subprocess.run([os.path.join(PG_BIN, "psql"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                               "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], input=statement, env=env, text=True,
                              capture_output=True, check=False, cwd="/")
        if proc.returncode != 0:
            raise SandboxError("could not create the PostgreSQL user %s: %s" % (APP_DB_USER, proc.stderr.strip()))

    def stop(self):
        if self.pid() is None:
            return False
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"])
        return True


class Moto(Service):
    """moto in server mode: the AWS endpoint for boto3 and the amazon.aws modules, with sandbox/motofix's corrections
    (where moto answers otherwise than AWS) and its /_sandbox/pending control; AWS's managed IAM policies loaded."""

    name = "moto"

    def command(self):
        return [sys.executable, "-m", "motofix", "-H", HOST, "-p", str(self.port)]

    def extra_env(self):
        return {"PYTHONPATH": os.path.join(REPO_ROOT, "sandbox"), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
                # A PostgreSQL DB instance's endpoint is where the sandbox's PostgreSQL answers (motofix.rds).
                "MOTOFIX_RDS_ENDPOINT_ADDRESS": rds_address()}

    def ready(self):
        return http_ok("http://%s:%d/moto-api/data.json" % (HOST, self.port))


class AwsFront(Service):
    """sandbox/s3front in front of moto: what AWS_ENDPOINT_URL names. Counts requests by operation, injects the
    faults tests ask for, and refuses what moto accepts and AWS does not (a DeleteObjects of over 1000 keys)."""

    name = "aws-front"

    def command(self):
        return [sys.executable, "-m", "s3front", "--listen-port", str(self.port), "--upstream", "http://%s:%d" % (HOST, port_of("moto"))]

    def extra_env(self):
        return {"PYTHONPATH": os.path.join(REPO_ROOT, "sandbox")}

    def ready(self):
        return http_ok("http://%s:%s/_sandbox/stats" % (HOST, self.port))


# The first line of every config ctl.py writes. A config without it was written by someone else (the monitoring
# role, a test) and is never overwritten: neither at a start nor by refresh().
CONFIG_MARKER = "# Written by sandbox/ctl.py"


class PrometheusComponent(Service):
    """A Prometheus-project server with a private config, data dir and /-/ready probe."""

    config_name = ""

    def __init__(self, creds):
        super().__init__(creds)
        self.base = os.path.join(STATE_DIR, self.name)
        self.config = os.path.join(self.base, self.config_name)

    def config_text(self):
        raise SandboxError("%s has no config" % self.name)

    def owns_config(self):
        """True when the config file is missing or is still ctl.py's own (its first line is CONFIG_MARKER)."""
        try:
            with open(self.config, encoding="utf-8") as handle:
                return handle.readline().startswith(CONFIG_MARKER)
        except FileNotFoundError:
            return True

    def write_config(self):
        """Write ctl.py's config unless another writer's is there; True when the file changed."""
        text = self.config_text()
        if not self.owns_config():
            return False
        try:
            with open(self.config, encoding="utf-8") as handle:
                if handle.read() == text:
                    return False
        except FileNotFoundError:
            pass
        # Replaced in one step, so a reload (ours or another writer's) never reads half a file.
        partial = self.config + ".ctl-partial"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, self.config)
        return True

    def prepare(self):
        # Rewritten at every start (a moved port reaches the config too), unless another writer owns it.
        os.makedirs(os.path.join(self.base, "data"), exist_ok=True)
        self.write_config()

    def ready(self):
        return http_ok("http://%s:%s/-/ready" % (HOST, self.port))

    def refresh(self):
        """A copy already running with an older config of ctl.py's (a scrape job added since) loads the new one; True if
        it did. A config someone else wrote is left as it is, and so is what the server has loaded."""
        if not self.write_config():
            return False
        request = urllib.request.Request("http://%s:%s/-/reload" % (HOST, self.port), data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30):  # nosec - 127.0.0.1 only
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise SandboxError("%s did not reload %s: %s; see %s%s" % (self.name, self.config, exc, self.log, log_tail(self.log))) from exc
        return True


class Prometheus(PrometheusComponent):
    """Prometheus 3, built from its Go module by tools/build-prometheus.sh (Debian's is 2.x); the lifecycle API lets
    a writer of the config reload it (/-/reload), the admin API lets a test delete series."""

    name = "prometheus"
    config_name = "prometheus.yml"

    def __init__(self, creds):
        super().__init__(creds)
        self.rules = os.path.join(self.base, "rules")

    def config_text(self):
        return PROMETHEUS_CONFIG % {"host": HOST, "alertmanager": port_of("alertmanager"), "self": self.port, "rules": self.rules,
                                    "pushgateway": port_of("pushgateway")}

    def prepare(self):
        os.makedirs(self.rules, exist_ok=True)
        super().prepare()

    def binary(self):
        return os.path.join(prometheus_bin(), "prometheus")

    def command(self):
        return [self.binary(), "--config.file=" + self.config, "--storage.tsdb.path=" + os.path.join(self.base, "data"),
                "--web.listen-address=%s:%d" % (HOST, self.port), "--web.enable-lifecycle", "--web.enable-admin-api",
                "--storage.tsdb.retention.time=1d"]

    def stale(self):
        # A copy started before the pinned version changed (or Debian's 2.x, before the sandbox built its own).
        try:
            running = os.path.realpath("/proc/%d/exe" % self.pid())
        except (OSError, TypeError):
            return None
        wanted = os.path.realpath(self.binary())
        return None if running == wanted else "it ran %s, not %s" % (running, wanted)


class Alertmanager(PrometheusComponent):
    """Debian's Alertmanager 0.25 (amtool check-config, webhook receivers and inhibition are all the platform uses);
    clustering off so it opens no other port."""

    name = "alertmanager"
    config_name = "alertmanager.yml"

    def config_text(self):
        return ALERTMANAGER_CONFIG

    def command(self):
        return ["prometheus-alertmanager", "--config.file=" + self.config, "--storage.path=" + os.path.join(self.base, "data"),
                "--web.listen-address=%s:%d" % (HOST, self.port), "--cluster.listen-address="]


class Pushgateway(PrometheusComponent):
    """Debian's Pushgateway, for batch jobs' metrics (Prometheus scrapes it with honor_labels)."""

    name = "pushgateway"

    def prepare(self):
        os.makedirs(self.base, exist_ok=True)

    def command(self):
        # The persistence file keeps pushed groups across a restart; the admin API lets a test wipe them.
        return ["prometheus-pushgateway", "--web.listen-address=%s:%s" % (HOST, self.port),
                "--persistence.file=" + os.path.join(self.base, "pushgateway.data"), "--web.enable-admin-api"]


class Elasticsearch(Service):
    """sandbox/elasticsearch/server.py: a stand-in for the few Elasticsearch 8 REST endpoints the collection uses (ILM
    policies, index templates, data streams, indexing, simple searches). It is not Elasticsearch. https with a server
    certificate of the sandbox CA (127.0.0.1, localhost), basic auth as ELASTICSEARCH_USER; state in memory only."""

    name = "elasticsearch"
    user = "elastic"

    def __init__(self, creds):
        super().__init__(creds)
        self.base = os.path.join(STATE_DIR, "elasticsearch")
        self.password_file = os.path.join(self.base, "password")
        self.api_key_file = os.path.join(self.base, "api-key")
        self.cert, self.key = os.path.join(PKI_DIR, "elasticsearch.crt"), os.path.join(PKI_DIR, "elasticsearch.key")

    def url(self):
        return "https://%s:%d" % (HOST, self.port)

    def prepare(self):
        os.makedirs(PKI_DIR, exist_ok=True)
        from kubesandbox import pki  # pylint: disable=import-outside-toplevel
        pki.make_leaf(PKI_DIR, "elasticsearch", pki.make_ca(PKI_DIR), "elasticsearch-standin", dns_names=["localhost"], ip_addresses=[HOST])
        write_private(self.password_file, self.creds["elasticsearch_password"] + "\n")
        write_private(self.api_key_file, self.creds["elasticsearch_api_key"] + "\n")

    def command(self):
        return [sys.executable, os.path.join(REPO_ROOT, "sandbox", "elasticsearch", "server.py"), "--host", HOST, "--port", str(self.port),
                "--cert", self.cert, "--key", self.key, "--user", self.user, "--password-file", self.password_file,
                "--api-key-file", self.api_key_file]

    def ready(self):
        return http_ok(self.url() + "/", basic=(self.user, self.creds["elasticsearch_password"]))


# ---- the Kubernetes control plane ----------------------------------------------------------------

K8S_DIR = os.path.join(STATE_DIR, "kube")
PKI_DIR = os.path.join(K8S_DIR, "pki")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
# The pod network: kwok hands out pod IPs from it, and the sandbox's own network namespace owns all of it.
POD_CIDR = os.environ.get("SANDBOX_POD_CIDR") or "10.244.0.0/16"
POD_PORTS = os.environ.get("SANDBOX_POD_PORTS") or "8080"
# Which state directory made each sandbox namespace, so a later `up` can tell a stale one from a live one.
OWNER_DIR = os.environ.get("SANDBOX_NETNS_OWNERS") or "/run/loyalty-sandbox"
KUBESANDBOX_DIR = os.path.join(REPO_ROOT, "sandbox", "kubesandbox")


def pod_network():
    """(network, kwok's --cidr, the node IP, the API server's advertised IP), all inside POD_CIDR."""
    try:
        network = ipaddress.ip_network(POD_CIDR)
    except ValueError as exc:
        raise SandboxError("SANDBOX_POD_CIDR=%r is not a network: %s; set it to one such as 10.244.0.0/16" % (POD_CIDR, exc)) from exc
    if network.version != 4 or network.prefixlen > 24:
        raise SandboxError("SANDBOX_POD_CIDR=%s must be an IPv4 network of /24 or larger" % POD_CIDR)
    last = network.broadcast_address
    return network, "%s/%d" % (network.network_address + 1, network.prefixlen), str(last - 1), str(last - 2)


def rds_address():
    """The address every PostgreSQL DB instance of the sandbox's moto has as its endpoint: a pod-network address whose
    port RDS_PORT the kubesandbox relays to the sandbox's PostgreSQL, reached from the host through the pod network's
    route, as an RDS endpoint is reached inside its VPC."""
    return str(pod_network()[0].broadcast_address - 3)


# The port of the sandbox's RDS endpoints (the PostgreSQL default, which aws_infra asks for).
RDS_PORT = 5432

# The sandbox's Prometheus as the cluster sees it: the Service monitoring/prometheus-server:9090 in front of a kwok
# Pod; whatever reaches a pod address on that port the kubesandbox relays to the host's Prometheus (kubesandbox/forward.py).
PROMETHEUS_SERVICE = {"namespace": "monitoring", "name": "prometheus-server", "port": 9090}


def prometheus_bin():
    """Directory of the cached Prometheus 3 and promtool (built by `make bootstrap`)."""
    proc = subprocess.run([os.path.join(REPO_ROOT, "tools", "build-prometheus.sh"), "--print"], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SandboxError(proc.stderr.strip() or "Prometheus 3 is not built: run make bootstrap")
    return proc.stdout.strip()


def k8s_bin():
    """Directory of the cached control-plane binaries (built by `make bootstrap`)."""
    proc = subprocess.run([os.path.join(REPO_ROOT, "tools", "build-k8s.sh"), "--print"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SandboxError(proc.stderr.strip() or "the Kubernetes binaries are missing: run make bootstrap")
    return proc.stdout.strip()


def write_component_kubeconfig(name, token, port=None):
    """A kubeconfig for one component, trusting the sandbox CA and naming the API server (or the proxy)."""
    path = os.path.join(K8S_DIR, name + ".kubeconfig")
    write_private(path, json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {
            "server": "https://%s:%d" % (HOST, port or port_of("kube-apiserver")),
            "certificate-authority": os.path.join(PKI_DIR, "ca.crt")}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": name}}],
        "current-context": "sandbox",
    }, indent=2) + "\n")
    return path


class PodNetwork(Service):
    """A network namespace that owns the whole pod CIDR, reached from the host through a veth pair.

    Inside it, `ip route add local <cidr> dev lo` makes every pod (and node) IP an address of the
    namespace, so the API server's pods proxy reaches the stand-in there and no packet for a pod
    address can leave the machine. The host route of the whole CIDR points into the namespace.
    """

    name = "pod-network"

    def __init__(self, creds):
        super().__init__(creds)
        tag = hashlib.sha256(STATE_DIR.encode()).hexdigest()[:6]
        self.netns = "loyalty-sbx-" + tag
        self.host_if, self.ns_if = "lps%sh" % tag, "lps%sn" % tag
        # A /30 of the link-local range for the veth pair only; derived from the state dir like the names.
        third = int(tag[:2], 16)
        self.host_addr, self.ns_addr = "169.254.%d.1" % third, "169.254.%d.2" % third

    def running(self):
        return os.path.exists(os.path.join("/run/netns", self.netns))

    def pid(self):
        return None

    def recorded_port(self):
        return None

    def record_port(self):
        pass

    def _ip(self, *args, check=True):
        proc = subprocess.run(["ip"] + list(args), capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise SandboxError("`ip %s` failed: %s" % (" ".join(args), proc.stderr.strip()))
        return proc

    def preflight(self):
        if shutil.which("ip") is None:
            raise SandboxError("the pod network needs the `ip` command: install iproute2 (make bootstrap)")
        if os.geteuid() != 0:
            raise SandboxError("the pod network needs a network namespace, which only root (CAP_NET_ADMIN and CAP_SYS_ADMIN) "
                               "may create: run `sudo make sandbox-up`, or make test as root")
        network = pod_network()[0]
        for line in self._conflicting_routes(network):
            device = line.split()[line.split().index("dev") + 1]
            owner = self.stale_owner(device)
            if owner is None:
                raise SandboxError("the pod CIDR %s is already routed on this machine (%s): another sandbox or a real network "
                                   "uses it; pick a free one with SANDBOX_POD_CIDR=<cidr>" % (network, line.strip()))
            # A sandbox killed without `down` leaves its namespace behind (the kernel keeps it, its processes are gone).
            tag = device[3:-1]
            self._ip("link", "del", device, check=False)
            self._ip("netns", "del", "loyalty-sbx-" + tag, check=False)
            remove(os.path.join(OWNER_DIR, "loyalty-sbx-" + tag))
            print("removed the pod network left by a sandbox that is no longer running (%s)" % owner)
        leftover = self._conflicting_routes(network)
        if leftover:
            raise SandboxError("the pod CIDR %s is still routed on this machine (%s) after removing a stale sandbox network"
                               % (network, leftover[0].strip()))

    def _conflicting_routes(self, network):
        route = self._ip("-4", "route", "show", "to", "match", str(network.network_address + 1), check=False).stdout
        return [line for line in route.splitlines()
                if line.split() and line.split()[0] != "default" and "dev" in line.split()
                and line.split()[line.split().index("dev") + 1] != self.host_if]

    @staticmethod
    def stale_owner(device):
        """The state directory of the sandbox that made `device`, when that sandbox is gone; None otherwise.

        Only a device of our own naming with an owner record qualifies, and only when no process
        recorded under the owner's run directory is alive: a live sandbox or a real network is never touched.
        """
        match = re.fullmatch(r"lps([0-9a-f]{6})h", device)
        if not match:
            return None
        try:
            with open(os.path.join(OWNER_DIR, "loyalty-sbx-" + match.group(1)), encoding="utf-8") as handle:
                owner = handle.read().strip()
        except OSError:
            return None
        run_dir = os.path.join(owner, "run")
        for name in (os.listdir(run_dir) if os.path.isdir(run_dir) else ()):
            if name.endswith(".pid"):
                try:
                    with open(os.path.join(run_dir, name), encoding="utf-8") as handle:
                        if pid_alive(int(handle.read().strip())):
                            return None
                except (OSError, ValueError):
                    continue
        return owner

    def start(self):
        self.preflight()
        network = pod_network()[0]
        self._ip("netns", "add", self.netns)
        os.makedirs(OWNER_DIR, exist_ok=True)
        write_private(os.path.join(OWNER_DIR, self.netns), STATE_DIR + "\n")
        try:
            self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            self._ip("link", "set", self.ns_if, "netns", self.netns)
            self._ip("addr", "add", self.host_addr + "/30", "dev", self.host_if)
            self._ip("link", "set", self.host_if, "up")
            ns = ["netns", "exec", self.netns, "ip"]
            self._ip(*ns, "link", "set", "lo", "up")
            self._ip(*ns, "addr", "add", self.ns_addr + "/30", "dev", self.ns_if)
            self._ip(*ns, "link", "set", self.ns_if, "up")
            self._ip(*ns, "route", "add", "local", str(network), "dev", "lo")
            self._ip("route", "add", str(network), "via", self.ns_addr, "dev", self.host_if)
            self.check_route()
        except SandboxError:
            self.stop()
            raise

    def check_route(self):
        """Every address of the CIDR (pods and nodes alike) must go into the namespace, and nowhere else."""
        network, _cidr, node_ip, advertise_ip = pod_network()
        for address in (str(network.network_address + 1), node_ip, advertise_ip, str(network.broadcast_address - 3)):
            line = self._ip("-4", "route", "get", address, check=False).stdout
            if " dev %s " % self.host_if not in line + " ":
                raise SandboxError("the route to pod address %s does not lead into the sandbox's namespace (%s); "
                                   "nothing was started that could send to it" % (address, line.strip() or "no route"))

    def stop(self):
        existed = self.running()
        network = pod_network()[0]
        self._ip("route", "del", str(network), "dev", self.host_if, check=False)
        self._ip("link", "del", self.host_if, check=False)
        if existed:
            self._ip("netns", "del", self.netns, check=False)
        remove(os.path.join(OWNER_DIR, self.netns))
        return existed


class Etcd(Service):
    """etcd 3.6 for the API server, client and peer URLs on 127.0.0.1 only."""

    name = "etcd"
    extra_ports = ("etcd-peer",)

    def command(self):
        client = "http://%s:%d" % (HOST, self.port)
        peer = "http://%s:%d" % (HOST, port_of("etcd-peer"))
        return [os.path.join(k8s_bin(), "etcd"), "--name", "sandbox", "--data-dir", os.path.join(K8S_DIR, "etcd"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "sandbox=" + peer, "--listen-metrics-urls", "",
                "--unsafe-no-fsync", "--quota-backend-bytes", str(2 * 1024 ** 3), "--log-level", "warn"]

    def ready(self):
        return http_ok("http://%s:%d/health" % (HOST, self.port))


class KubeAPIServer(Service):
    """kube-apiserver with TLS from the sandbox CA, token authentication, Node,RBAC and its default admission."""

    name = "kube-apiserver"
    start_timeout = 90

    def prepare(self):
        os.makedirs(K8S_DIR, exist_ok=True)
        from kubesandbox import pki  # pylint: disable=import-outside-toplevel
        pki.make_all(PKI_DIR, SERVICE_IP)
        tokens = [
            (self.creds["k8s_token"], "sandbox-admin", "sandbox-admin", "system:masters"),
            (self.creds["k8s_kcm_token"], "system:kube-controller-manager", "kcm", ""),
            (self.creds["k8s_scheduler_token"], "system:kube-scheduler", "scheduler", ""),
            (self.creds["k8s_kwok_token"], "kwok-controller", "kwok", "system:masters"),
        ]
        write_private(os.path.join(K8S_DIR, "tokens.csv"), "".join(
            '%s,%s,%s%s\n' % (token, user, uid, ',"%s"' % groups if groups else "") for token, user, uid, groups in tokens))

    def extra_env(self):
        return {"PYTHONPATH": os.path.join(REPO_ROOT, "sandbox")}

    def command(self):
        advertise = pod_network()[3]
        return [os.path.join(k8s_bin(), "kube-apiserver"),
                "--etcd-servers", "http://%s:%d" % (HOST, port_of("etcd")),
                "--bind-address", HOST, "--secure-port", str(self.port), "--advertise-address", advertise,
                "--tls-cert-file", os.path.join(PKI_DIR, "apiserver.crt"),
                "--tls-private-key-file", os.path.join(PKI_DIR, "apiserver.key"),
                "--client-ca-file", os.path.join(PKI_DIR, "ca.crt"),
                "--token-auth-file", os.path.join(K8S_DIR, "tokens.csv"),
                "--authorization-mode", "Node,RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", os.path.join(PKI_DIR, "sa.pub"),
                "--service-account-signing-key-file", os.path.join(PKI_DIR, "sa.key"),
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--allow-privileged=true", "--profiling=false", "--cert-dir", os.path.join(K8S_DIR, "apiserver-certs"),
                "--enable-priority-and-fairness=false", "-v", "1"]

    def ready(self):
        return http_ok("https://%s:%d/readyz" % (HOST, self.port), self.creds["k8s_token"])


class ControllerComponent(Service):
    """A control-plane component that serves its health endpoint with the sandbox's certificate."""

    start_timeout = 60
    token_name = ""

    def flags(self):
        """The component's own flags, after the shared ones."""
        return []

    def command(self):
        kubeconfig = write_component_kubeconfig(self.name, self.creds[self.token_name])
        return [os.path.join(k8s_bin(), self.name), "--kubeconfig", kubeconfig,
                "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
                "--bind-address", HOST, "--secure-port", str(self.port),
                "--tls-cert-file", os.path.join(PKI_DIR, "apiserver.crt"),
                "--tls-private-key-file", os.path.join(PKI_DIR, "apiserver.key"),
                "--leader-elect=false", "-v", "1"] + self.flags()

    def ready(self):
        return http_ok("https://%s:%s/healthz" % (HOST, self.port))


class KubeControllerManager(ControllerComponent):
    """kube-controller-manager with its default controllers, service-account tokens and a 1 s HPA sync."""

    name = "kube-controller-manager"
    token_name = "k8s_kcm_token"

    def flags(self):
        return ["--service-account-private-key-file", os.path.join(PKI_DIR, "sa.key"),
                "--root-ca-file", os.path.join(PKI_DIR, "ca.crt"), "--use-service-account-credentials=true",
                "--cluster-signing-cert-file", os.path.join(PKI_DIR, "ca.crt"),
                "--cluster-signing-key-file", os.path.join(PKI_DIR, "ca.key"),
                "--horizontal-pod-autoscaler-sync-period", "1s",
                # kwok's nodes never go away: a heartbeat that is late on a busy 2-core machine must not make
                # the node lifecycle controller mark every pod of the node NotReady in the middle of a test.
                "--node-monitor-grace-period", "1h",
                # Its client's default 20 requests/s would make the endpoint controller take seconds to follow
                # a switch of 40 Services; a cluster's own control plane is not held to that on EKS either.
                "--kube-api-qps", "200", "--kube-api-burst", "400",
                "--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller"]


class KubeScheduler(ControllerComponent):
    """kube-scheduler, placing pods on kwok's fake nodes."""

    name = "kube-scheduler"
    token_name = "k8s_scheduler_token"


class Kwok(Service):
    """kwok: the fake nodes and the lifecycle of their pods, by the stages in kubesandbox/stages.yaml."""

    name = "kwok"

    def command(self):
        kubeconfig = write_component_kubeconfig("kwok", self.creds["k8s_kwok_token"])
        _network, cidr, node_ip, _advertise = pod_network()
        with open(os.path.join(KUBESANDBOX_DIR, "stages.yaml"), encoding="utf-8") as handle:
            stages = yaml.safe_load(handle)["stages"]
        config = os.path.join(K8S_DIR, "kwok.yaml")
        with open(config, "w", encoding="utf-8") as handle:
            yaml.safe_dump_all(stages, handle, sort_keys=False)
        return [os.path.join(k8s_bin(), "kwok"), "--kubeconfig", kubeconfig, "--config", config,
                "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
                "--cidr", cidr, "--node-ip", node_ip, "--server-address", "%s:%d" % (HOST, self.port)]

    def ready(self):
        return http_ok("http://%s:%d/healthz" % (HOST, self.port))


class KubeSandbox(Service):
    """The fault proxy clients reach the API server through, the readiness gate and the pods' stand-in."""

    name = "kubesandbox"
    extra_ports = ("kubesandbox-lane2",)

    def command(self):
        token_file = os.path.join(K8S_DIR, "admin.token")
        write_private(token_file, self.creds["k8s_token"] + "\n")
        return [sys.executable, "-m", "kubesandbox", "--listen", "%s:%d" % (HOST, self.port),
                "--upstream", "https://%s:%d" % (HOST, port_of("kube-apiserver")),
                "--ca", os.path.join(PKI_DIR, "ca.crt"), "--cert", os.path.join(PKI_DIR, "apiserver.crt"),
                "--key", os.path.join(PKI_DIR, "apiserver.key"), "--token-file", token_file,
                "--netns", PodNetwork(self.creds).netns, "--pod-ports", POD_PORTS,
                "--forward", "0.0.0.0:%d=%s:%d" % (PROMETHEUS_SERVICE["port"], HOST, port_of("prometheus")),
                "--forward", "%s:%d=%s:%d" % (rds_address(), RDS_PORT, HOST, port_of("postgresql")),
                "--ready-delay", os.environ.get("SANDBOX_K8S_READY_DELAY", "0.3"),
                "--lane-listen", "%s:%d" % (HOST, port_of("kubesandbox-lane2"))]

    def extra_env(self):
        return {"PYTHONPATH": os.path.join(REPO_ROOT, "sandbox")}

    def stale(self):
        # A copy started with other arguments (a sandbox from before its lane listener, say). One on another port
        # than the one asked for is not restarted: up() refuses that, so .sandbox/env never names a port in flux.
        if self.recorded_port() != self.port:
            return None
        try:
            with open("/proc/%d/cmdline" % self.pid(), "rb") as handle:
                running = handle.read().split(b"\0")[1:-1]
        except (OSError, TypeError):
            return None
        wanted = [arg.encode() for arg in self.command()[1:]]
        return None if running == wanted else "it was started with other arguments"

    def ready(self):
        return http_ok("https://%s:%d/readyz" % (HOST, self.port), self.creds["k8s_token"])


CONTROL_PLANE = (Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kwok, KubeSandbox)
NODE_NAMES = ("sandbox-node-a", "sandbox-node-b")
NODE_ZONES = ("us-west-2a", "us-west-2b")


def bootstrap_cluster(creds):
    """What a fresh cluster of the sandbox holds: kwok's nodes, the monitoring CRDs and the Prometheus Service (idempotent)."""
    kubectl = os.path.join(k8s_bin(), "kubectl")
    admin = write_component_kubeconfig("admin", creds["k8s_token"])
    nodes = []
    for name, zone in zip(NODE_NAMES, NODE_ZONES):
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                         "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                    "type": "kwok", "topology.kubernetes.io/zone": zone,
                                    "node.kubernetes.io/instance-type": "m5.large"}},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                       "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"}},
        })
    crd_dir = os.path.join(os.path.dirname(k8s_bin()), "crds")
    for args, stdin in (
        (["apply", "--server-side", "--field-manager", "loyalty-sandbox", "-f", "-"], json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes})),
        (["apply", "--server-side", "--field-manager", "loyalty-sandbox", "-f", "-"], json.dumps(prometheus_service_objects())),
        (["apply", "--server-side", "--field-manager", "loyalty-sandbox", "-f", crd_dir], None),
        (["wait", "--for", "condition=Established", "--timeout", "60s", "-f", crd_dir], None),
        (["wait", "--for", "condition=Available", "--timeout", "60s", "-n", PROMETHEUS_SERVICE["namespace"],
          "deployment/" + PROMETHEUS_SERVICE["name"]], None),
    ):
        proc = subprocess.run([kubectl, "--kubeconfig", admin] + args, input=stdin, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SandboxError("kubectl %s failed: %s" % (" ".join(args[:2]), proc.stderr.strip()[-2000:]))


def prometheus_service_objects():
    """The namespace, a Prometheus Deployment (kwok runs its Pod) and the Service the gates reach through the API server.

    The API server's services proxy only proxies to endpoints that are Pods holding that IP (a selector-less Service
    with hand-written Endpoints is refused with "no endpoints available"), so the Service selects a real Pod, as in a
    cluster that runs Prometheus.
    """
    namespace, name, port = PROMETHEUS_SERVICE["namespace"], PROMETHEUS_SERVICE["name"], PROMETHEUS_SERVICE["port"]
    labels = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": name}
    managed = dict(labels, **{"app.kubernetes.io/managed-by": "loyalty-sandbox"})
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace, "labels": managed},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v3.0.0",
                             "ports": [{"name": "http", "containerPort": port}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace, "labels": managed},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}]}},
    ]}


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
  - '%(rules)s/*.yaml'
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['%(host)s:%(self)d']
  # honor_labels: the job and instance labels of a pushed group are the batch job's, not the pushgateway's.
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['%(host)s:%(pushgateway)d']
"""

ALERTMANAGER_CONFIG = """# Written by sandbox/ctl.py for the local sandbox only.
route:
  receiver: sandbox-null
  group_by: ['alertname']
receivers:
  - name: sandbox-null
"""

SERVICES = [PostgreSQL, Moto, AwsFront, Prometheus, Alertmanager, Pushgateway, Elasticsearch, PodNetwork] + list(CONTROL_PLANE)

# Prometheus's own identity for kubernetes_sd_configs: a client certificate of the sandbox CA, bound by RBAC to read
# what service discovery watches, cluster-wide. Its kubeconfig names kube-apiserver itself, not the fault proxy: the
# proxy's request statistics are global, and discovery's lists and watches must not show up in them.
PROMETHEUS_SD_USER = "loyalty-sandbox:prometheus"
PROMETHEUS_SD_ROLE = "loyalty-sandbox:prometheus-discovery"


def prometheus_sd_objects():
    """The ClusterRole and ClusterRoleBinding of PROMETHEUS_SD_USER."""
    labels = {"app.kubernetes.io/managed-by": "loyalty-sandbox"}
    verbs = ["get", "list", "watch"]
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": PROMETHEUS_SD_ROLE, "labels": labels},
         "rules": [{"apiGroups": [""], "resources": ["pods", "services", "endpoints", "namespaces"], "verbs": verbs},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": verbs}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": PROMETHEUS_SD_ROLE, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PROMETHEUS_SD_ROLE},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": PROMETHEUS_SD_USER}]},
    ]}


def prometheus_kubeconfig_path():
    return os.path.join(K8S_DIR, "prometheus-sd.kubeconfig")


def grant_prometheus_discovery(creds):
    """Prometheus's client certificate, its kubeconfig and its RBAC (idempotent; every `up`, so a running sandbox
    started before this existed gets them too)."""
    from kubesandbox import pki  # pylint: disable=import-outside-toplevel
    cert, key = pki.make_leaf(PKI_DIR, "prometheus-sd", pki.make_ca(PKI_DIR), PROMETHEUS_SD_USER, server=False, client=True)
    write_private(prometheus_kubeconfig_path(), json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {
            "server": "https://%s:%d" % (HOST, port_of("kube-apiserver")),
            "certificate-authority": os.path.join(PKI_DIR, "ca.crt")}}],
        "users": [{"name": "prometheus", "user": {"client-certificate": cert, "client-key": key}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "prometheus"}}],
        "current-context": "sandbox",
    }, indent=2) + "\n")
    admin = write_component_kubeconfig("admin", creds["k8s_token"])
    proc = subprocess.run([os.path.join(k8s_bin(), "kubectl"), "--kubeconfig", admin, "apply", "--server-side",
                           "--field-manager", "loyalty-sandbox", "-f", "-"],
                          input=json.dumps(prometheus_sd_objects()), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SandboxError("kubectl apply of Prometheus's discovery RBAC failed: %s" % proc.stderr.strip()[-2000:])


def env_values(creds):
    kubeconfig = os.path.join(STATE_DIR, "kubeconfig")
    prometheus = Prometheus(creds)
    return {
        "LOYALTY_SANDBOX_DIR": STATE_DIR,
        "PGHOST": HOST,
        "PGPORT": str(port_of("postgresql")),
        "PGUSER": "postgres",
        "PGPASSWORD": creds["pg_password"],
        "PGDATABASE": "postgres",
        # Every AWS client goes through the front; moto's own /moto-api is at SANDBOX_MOTO_URL.
        "AWS_ENDPOINT_URL": "http://%s:%d" % (HOST, port_of("aws-front")),
        "SANDBOX_AWS_FRONT_URL": "http://%s:%d" % (HOST, port_of("aws-front")),
        "SANDBOX_MOTO_URL": "http://%s:%d" % (HOST, port_of("moto")),
        # Where the endpoint of an RDS PostgreSQL instance in moto reaches the sandbox's PostgreSQL.
        "SANDBOX_RDS_ENDPOINT": "%s:%d" % (rds_address(), RDS_PORT),
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_REGION": "us-west-2",
        "PROMETHEUS_URL": "http://%s:%d" % (HOST, port_of("prometheus")),
        # The sandbox's Prometheus 3 loads these (the monitoring role may replace them, then POST /-/reload);
        # promtool is the one built with it, amtool Debian's, of the same Alertmanager that runs.
        "SANDBOX_PROMETHEUS_CONFIG": prometheus.config,
        "SANDBOX_PROMETHEUS_RULES_DIR": prometheus.rules,
        "SANDBOX_ALERTMANAGER_CONFIG": Alertmanager(creds).config,
        "SANDBOX_PROMTOOL": os.path.join(prometheus_bin(), "promtool"),
        "SANDBOX_AMTOOL": shutil.which("amtool") or "/usr/bin/amtool",
        # For kubernetes_sd_configs' kubeconfig_file: its own identity, straight to kube-apiserver (not the fault proxy).
        "SANDBOX_PROMETHEUS_KUBECONFIG": prometheus_kubeconfig_path(),
        # The same Prometheus as the cluster's Service, reached through the API server's services proxy.
        "SANDBOX_PROMETHEUS_SERVICE": "%(namespace)s/%(name)s:%(port)d" % PROMETHEUS_SERVICE,
        "ALERTMANAGER_URL": "http://%s:%d" % (HOST, port_of("alertmanager")),
        "PUSHGATEWAY_URL": "http://%s:%d" % (HOST, port_of("pushgateway")),
        # The Elasticsearch stand-in (not Elasticsearch): https with the sandbox CA's certificate, basic auth.
        "ELASTICSEARCH_URL": Elasticsearch(creds).url(),
        "ELASTICSEARCH_USERNAME": Elasticsearch.user,
        "ELASTICSEARCH_PASSWORD": creds["elasticsearch_password"],
        "ELASTICSEARCH_API_KEY": creds["elasticsearch_api_key"],
        "ELASTICSEARCH_CA": os.path.join(PKI_DIR, "ca.crt"),
        "K8S_AUTH_KUBECONFIG": kubeconfig,
        "KUBECONFIG": kubeconfig,
        "SANDBOX_K8S_KUBECONFIG": kubeconfig,
        "SANDBOX_K8S_URL": "https://%s:%d" % (HOST, port_of("kubesandbox")),
        "SANDBOX_K8S_CA": os.path.join(PKI_DIR, "ca.crt"),
        "SANDBOX_K8S_TOKEN": creds["k8s_token"],
        "SANDBOX_KUBECTL": os.path.join(k8s_bin(), "kubectl"),
        "ANSIBLE_VAULT_PASSWORD_FILE": os.path.join(STATE_DIR, "vault-pass"),
    }


def write_local_vault(creds):
    """The local inventory's vault: sandbox-only credentials, encrypted, never committed."""
    vault_pass = os.path.join(STATE_DIR, "vault-pass")
    write_private(vault_pass, creds["vault_password"] + "\n")
    plain = (
        "---\n"
        "vault_loyalty_db_username: " + APP_DB_USER + "\n"
        "vault_loyalty_db_password: %(app_db_password)s\n"
        "vault_loyalty_redis_password: %(redis_password)s\n"
        "vault_loyalty_jwt_secret: %(jwt_secret)s\n"
        "vault_loyalty_db_master_password: %(db_master_password)s\n"
        # loyalty.platform.logging_elk: the elastic user of the Elasticsearch stand-in.
        "vault_logging_elasticsearch_password: %(elasticsearch_password)s\n"
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
    # Every client's kubeconfig names the fault proxy and trusts the sandbox CA (never insecure-skip-tls-verify).
    os.makedirs(K8S_DIR, exist_ok=True)
    os.replace(write_component_kubeconfig("sandbox-admin", creds["k8s_token"], port_of("kubesandbox")),
               os.path.join(STATE_DIR, "kubeconfig"))
    # A second test process sources this after env: its clients reach the proxy's second listener, whose request
    # counts are its own (`make integration` runs two such processes side by side).
    lane = os.path.join(STATE_DIR, "lane2")
    os.makedirs(lane, mode=0o700, exist_ok=True)
    kubeconfig = os.path.join(lane, "kubeconfig")
    os.replace(write_component_kubeconfig("sandbox-admin-lane2", creds["k8s_token"], port_of("kubesandbox-lane2")), kubeconfig)
    overrides = {"K8S_AUTH_KUBECONFIG": kubeconfig, "KUBECONFIG": kubeconfig, "SANDBOX_K8S_KUBECONFIG": kubeconfig,
                 "SANDBOX_K8S_URL": "https://%s:%d" % (HOST, port_of("kubesandbox-lane2")),
                 # The test suites read .sandbox/env itself; this names the file whose values override it.
                 "SANDBOX_LANE_ENV": os.path.join(lane, "env")}
    write_private(os.path.join(lane, "env"), "\n".join(
        ["# Written by `make sandbox-up`; source it after ../env for a second test process."]
        + ["export %s=%s" % (name, shell_quote(value)) for name, value in overrides.items()]) + "\n")


def shell_quote(value):
    return "'" + value.replace("'", "'\"'\"'") + "'"


def describe(svc):
    return "%s:%d" % (HOST, svc.port) if svc.port is not None else "netns %s" % getattr(svc, "netns", "-")


def up():
    os.makedirs(LOG_DIR, exist_ok=True)
    os.makedirs(RUN_DIR, exist_ok=True)
    creds = load_secrets()
    pod_network()  # a bad SANDBOX_POD_CIDR stops everything before anything starts
    services = [cls(creds) for cls in SERVICES]
    restart = {svc.name: svc.stale() for svc in services if svc.running()}
    restart = {name: why for name, why in restart.items() if why}
    to_start = [svc for svc in services if not svc.running() or svc.name in restart]
    # Check every port before starting anything, so a conflict leaves nothing half-started.
    seen = {}
    for svc in services:
        for name, port in svc.ports():
            if port in seen:
                raise SandboxError("%s and %s both use port %d: move one with %s=<port>" % (
                    seen[port], name, port, PORTS[name][0]))
            seen[port] = name
    taken = [(svc, name, port) for svc in to_start if svc.name not in restart for name, port in svc.ports() if port_in_use(port)]
    if taken:
        raise SandboxError("\n".join(
            "port %d on %s, needed by %s, is already in use: free it or move %s with %s=<port>" % (
                port, HOST, name, name, PORTS[name][0]) for _svc, name, port in taken))
    # A copy already running on another port would leave .sandbox/env pointing at the wrong place.
    moved = [svc for svc in services if svc not in to_start and svc.recorded_port() != svc.port]
    if moved:
        raise SandboxError("\n".join(
            "%s already runs on port %s, not on %d as %s asks: run `make sandbox-down` first to move it" % (
                svc.name, svc.recorded_port() or "unknown", svc.port, PORTS[svc.name][0]) for svc in moved))
    # The binaries must be built before anything starts.
    prometheus_bin()
    if any(isinstance(svc, tuple(CONTROL_PLANE) + (PodNetwork,)) for svc in to_start):
        k8s_bin()
        PodNetwork(creds).preflight()
    started = []
    timings = {}
    try:
        for svc in to_start:
            began = time.monotonic()
            if svc.name in restart:
                svc.stop()
                print("restarting %-21s (%s)" % (svc.name, restart[svc.name]))
            svc.start()
            svc.record_port()
            started.append(svc)
            timings[svc.name] = time.monotonic() - began
            print("started %-24s on %s (%.1f s)" % (svc.name, describe(svc), timings[svc.name]))
        if any(isinstance(svc, tuple(CONTROL_PLANE)) for svc in started):
            began = time.monotonic()
            bootstrap_cluster(creds)
            timings["bootstrap"] = time.monotonic() - began
            control_plane = sum(timings.get(cls.name, 0) for cls in CONTROL_PLANE) + timings["bootstrap"]
            print("Kubernetes control plane ready: API server %.1f s after its start, the whole control plane "
                  "(etcd to kwok, nodes and CRDs) in %.1f s" % (timings.get("kube-apiserver", 0), control_plane))
        grant_prometheus_discovery(creds)
        write_env(creds)
        write_local_vault(creds)
    except BaseException:
        for svc in reversed(started):
            svc.stop()
        raise
    for svc in services:
        if svc not in to_start:
            note = ""
            if isinstance(svc, PrometheusComponent) and svc.config_name:
                note = ", config reloaded" if svc.refresh() else "" if svc.owns_config() else ", config of another writer kept"
            print("running %-24s on %s (already up%s)" % (svc.name, describe(svc), note))
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
        where = "%s (%s)" % (describe(svc), PORTS[svc.name][0]) if svc.port is not None else describe(svc)
        print("%-24s %-8s %s" % (svc.name, state, where))
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
