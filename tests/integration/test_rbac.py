"""The collection's RBAC (roles/*/files/rbac.yml) is least privilege: the suites' playbooks run under it,
and what lies outside it is refused by the real API server with 403."""

import uuid

import pytest
from kubernetes.dynamic.exceptions import ForbiddenError


def test_secrets_of_another_namespace_are_refused(deployer_client, kube_client, namespace):
    secrets = deployer_client.resources.get(api_version="v1", kind="Secret")
    assert secrets.get(namespace=namespace).items == []  # its own namespace: allowed
    other = "it-other-" + uuid.uuid4().hex[:8]
    namespaces = kube_client.resources.get(api_version="v1", kind="Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    try:
        kube_client.resources.get(api_version="v1", kind="Secret").create(namespace=other, body={
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "not-yours"}, "stringData": {"k": "v"}})
        for target in (other, "kube-system"):
            with pytest.raises(ForbiddenError) as raised:
                secrets.get(namespace=target)
            assert raised.value.status == 403
            with pytest.raises(ForbiddenError):
                secrets.get(namespace=other, name="not-yours")
    finally:
        namespaces.delete(name=other)


def test_deleting_a_namespace_is_refused_and_leaves_it(deployer_client, kube_client, namespace):
    with pytest.raises(ForbiddenError) as raised:
        deployer_client.resources.get(api_version="v1", kind="Namespace").delete(name=namespace)
    assert raised.value.status == 403
    live = kube_client.resources.get(api_version="v1", kind="Namespace").get(name=namespace)
    assert live.status.phase == "Active" and not live.metadata.deletionTimestamp


def test_cluster_wide_and_rbac_writes_are_refused(deployer_client, namespace):
    with pytest.raises(ForbiddenError):
        deployer_client.resources.get(api_version="v1", kind="Node").get()
    with pytest.raises(ForbiddenError):
        deployer_client.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="RoleBinding").create(namespace=namespace, body={
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "escalate"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]})
