"""tools/build-k8s.sh and the start of a component: a missing toolchain or cache, or a component that fails, says what to do and leaves nothing behind."""

import os
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO_ROOT, "tools", "build-k8s.sh")


def run(tmp_path, *args, **env):
    full = dict(os.environ, LOYALTY_PLATFORM_CACHE=str(tmp_path / "cache"), **env)
    return subprocess.run([SCRIPT] + list(args), capture_output=True, text=True, env=full, check=False, timeout=60)


def test_print_on_an_empty_cache_says_to_bootstrap(tmp_path):
    proc = run(tmp_path, "--print")
    assert proc.returncode == 1
    assert "make bootstrap" in proc.stderr
    assert not (tmp_path / "cache").exists()


def test_a_missing_go_toolchain_is_named_and_nothing_is_written(tmp_path):
    proc = run(tmp_path, GO=str(tmp_path / "no-such-go"))
    assert proc.returncode == 1
    assert "needs the Go toolchain" in proc.stderr and "no-such-go is not an executable" in proc.stderr
    assert not (tmp_path / "cache").exists()


def test_the_versions_come_from_the_wrapper_modules():
    with open(os.path.join(REPO_ROOT, "sandbox", "k8s", "kubernetes", "go.mod"), encoding="utf-8") as handle:
        text = handle.read()
    assert "require k8s.io/kubernetes v1.34.4" in text
    # Every staging module is replaced by its published version of the same minor release.
    replaced = [line.split() for line in text.splitlines() if "=>" in line]
    assert replaced and all(parts[0] == parts[2] and parts[3] == "v0.34.4" for parts in replaced)


def _load_ctl(tmp_path, monkeypatch):
    import importlib.util  # pylint: disable=import-outside-toplevel

    monkeypatch.setenv("SANDBOX_DIR", str(tmp_path / "state"))
    spec = importlib.util.spec_from_file_location("sandbox_ctl_under_test", os.path.join(REPO_ROOT, "sandbox", "ctl.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.makedirs(module.LOG_DIR)
    os.makedirs(module.RUN_DIR)
    return module


def test_a_component_that_never_gets_ready_is_stopped_and_its_log_quoted(tmp_path, monkeypatch):
    ctl = _load_ctl(tmp_path, monkeypatch)

    class Slow(ctl.Service):
        name = "kwok"
        start_timeout = 1

        def command(self):
            return ["sh", "-c", "echo 'listening soon' ; echo 'still warming up' ; exec sleep 60"]

        def ready(self):
            return False

    slow = Slow({})
    with pytest.raises(ctl.SandboxError) as raised:
        slow.start()
    message = str(raised.value)
    assert "kwok did not come up within 1s" in message and "still warming up" in message
    assert slow.pid() is None, "the component was left running"


def test_a_component_that_exits_at_start_says_so_with_its_log(tmp_path, monkeypatch):
    ctl = _load_ctl(tmp_path, monkeypatch)

    class Broken(ctl.Service):
        name = "etcd"

        def command(self):
            return ["sh", "-c", "echo 'etcdmain: cannot access data directory' >&2; exit 3"]

        def ready(self):
            # Never ready by itself: etcd's default port may be a running sandbox's, which is not this copy.
            return False

    with pytest.raises(ctl.SandboxError) as raised:
        Broken({}).start()
    message = str(raised.value)
    assert "etcd exited at start (code 3)" in message and "cannot access data directory" in message
