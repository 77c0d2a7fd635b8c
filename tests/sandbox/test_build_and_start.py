"""tools/build-k8s.sh, tools/build-prometheus.sh and the start of a component: a missing toolchain or cache, or a
component that fails, says what to do and leaves nothing behind."""

import os
import re
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


PROMETHEUS_SCRIPT = os.path.join(REPO_ROOT, "tools", "build-prometheus.sh")


def _prometheus_versions():
    """(module version, Prometheus version) the wrapper module pins: v0.3XX.Y is Prometheus 3.XX.Y."""
    with open(os.path.join(REPO_ROOT, "sandbox", "prometheus", "go.mod"), encoding="utf-8") as handle:
        module = re.search(r"^require github\.com/prometheus/prometheus (v0\.(\d+)\.(\d+))$", handle.read(), re.M)
    minor = int(module.group(2))
    return module.group(1), "%d.%d.%s" % (minor // 100, minor % 100, module.group(3))


def run_prometheus_build(tmp_path, *args, **env):
    full = dict(os.environ, LOYALTY_PLATFORM_CACHE=str(tmp_path / "cache"), **env)
    return subprocess.run([PROMETHEUS_SCRIPT] + list(args), capture_output=True, text=True, env=full, check=False, timeout=60)


def test_the_prometheus_version_comes_from_its_wrapper_module():
    module, version = _prometheus_versions()
    assert version.startswith("3."), "the sandbox runs Prometheus 3 (module v0.3XX.Y), not %s" % module


def test_prometheus_print_fails_clearly_while_the_cache_is_incomplete(tmp_path):
    module, version = _prometheus_versions()
    bin_dir = tmp_path / "cache" / "prometheus" / ("v" + version) / "bin"
    proc = run_prometheus_build(tmp_path, "--print")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Prometheus %s is not built (prometheus promtool missing or stale in %s)" % (version, bin_dir) in proc.stderr
    assert "make bootstrap" in proc.stderr
    assert not (tmp_path / "cache").exists(), "--print must not write the cache"

    bin_dir.mkdir(parents=True)
    for name in ("prometheus", "promtool"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    stamp = module + " tags=remove_all_sd,enable_kubernetes_sd\n"
    (bin_dir / ".prometheus.version").write_text(stamp)
    # promtool has no stamp: half a cache (an interrupted build) is not a cache.
    proc = run_prometheus_build(tmp_path, "--print")
    assert proc.returncode == 1 and "(promtool missing or stale in" in proc.stderr
    # A stamp of another version (the pin moved on) is stale.
    (bin_dir / ".promtool.version").write_text("v0.300.0\n")
    proc = run_prometheus_build(tmp_path, "--print")
    assert proc.returncode == 1 and "(promtool missing or stale in" in proc.stderr
    # The pinned version built without the plugin tags (every discovery SDK compiled in) is stale too.
    (bin_dir / ".promtool.version").write_text(module + "\n")
    proc = run_prometheus_build(tmp_path, "--print")
    assert proc.returncode == 1 and "(promtool missing or stale in" in proc.stderr
    (bin_dir / ".promtool.version").write_text(stamp)
    proc = run_prometheus_build(tmp_path, "--print")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(bin_dir)


def test_prometheus_build_without_go_names_the_toolchain_and_writes_nothing(tmp_path):
    proc = run_prometheus_build(tmp_path, GO=str(tmp_path / "no-such-go"))
    assert proc.returncode == 1
    assert "needs the Go toolchain" in proc.stderr and "no-such-go is not an executable" in proc.stderr
    assert "sandbox/prometheus/go.mod" in proc.stderr
    assert not (tmp_path / "cache").exists()


def test_prometheus_build_refuses_a_wrapper_without_upstreams_replace_and_exclude_lines(tmp_path):
    """A dependency's replace and exclude directives are ignored: the wrapper must carry Prometheus's own, and a
    build (with a stand-in `go` that serves an upstream go.mod with such lines) stops before compiling anything."""
    upstream = tmp_path / "upstream.mod"
    upstream.write_text("module github.com/prometheus/prometheus\n\ngo 1.26\n\nexclude (\n\tgithub.com/example/a v1.2.3 // broken\n)\n"
                        "replace github.com/example/b => github.com/example/b v0.9.0\n")
    fake_go = tmp_path / "go"
    fake_go.write_text('#!/bin/sh\ncase "$1 $2" in\n  "mod download") exit 0 ;;\n  "list -m") echo %s ;;\n'
                       '  *) echo "compiled although the wrapper is incomplete" >&2; exit 3 ;;\nesac\n' % upstream)
    fake_go.chmod(0o755)
    proc = run_prometheus_build(tmp_path, GO=str(fake_go))
    assert proc.returncode == 1, proc.stderr
    assert "the wrapper module sandbox/prometheus/go.mod lacks these directives" in proc.stderr
    assert "exclude github.com/example/a v1.2.3" in proc.stderr
    assert "replace github.com/example/b => github.com/example/b v0.9.0" in proc.stderr
    assert "compiled" not in proc.stderr
    assert not [path for path in (tmp_path / "cache").rglob("*") if path.is_file()], "nothing may land in the cache"


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
