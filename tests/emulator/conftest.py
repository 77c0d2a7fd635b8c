"""Fixtures for the kubeemu tests: one emulator process per session, reset before every test."""

import secrets
import subprocess

import pytest

from emu_support import TEST_READY_DELAY, Emulator, start_emulator, write_kubeconfig


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The emulator process, shared by the session; stopped (SIGTERM) at the end."""
    workdir = tmp_path_factory.mktemp("kubeemu")
    token = secrets.token_hex(16)
    log_file = workdir / "kubeemu.log"
    proc, port = start_emulator(token, log_file)
    kubeconfig = write_kubeconfig(workdir / "kubeconfig", "http://127.0.0.1:%d" % port, token)
    try:
        yield Emulator(port, token, kubeconfig, log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def clean_cluster(emulator):
    """Every test starts from a fresh cluster with the test ready delay."""
    emulator.control("POST", "reset")
    emulator.control("POST", "config", {"ready_delay": TEST_READY_DELAY})
    yield


@pytest.fixture(scope="session")
def api_client(emulator):
    """Official client configured from the kubeconfig."""
    from kubernetes import config
    return config.new_client_from_config(config_file=emulator.kubeconfig)


@pytest.fixture(scope="session")
def dyn(api_client, tmp_path_factory):
    """kubernetes.dynamic.DynamicClient (discovery cache in a temp dir)."""
    from kubernetes.dynamic import DynamicClient
    return DynamicClient(api_client, cache_file=str(tmp_path_factory.mktemp("dyncache") / "cache.json"))


@pytest.fixture(scope="session")
def core(api_client):
    """Typed CoreV1Api."""
    from kubernetes import client
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client):
    """Typed AppsV1Api."""
    from kubernetes import client
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def coordination(api_client):
    """Typed CoordinationV1Api."""
    from kubernetes import client
    return client.CoordinationV1Api(api_client)


@pytest.fixture
def ns(emulator):
    """A fresh namespace 'emu' for the test."""
    status, data = emulator.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "emu"}})
    assert status == 201, data
    return "emu"
