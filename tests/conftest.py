"""Shared pytest set-up: make the collection importable as ansible_collections.loyalty.platform."""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, ".collections")


def _ensure_collection_link():
    """The collection must sit at ansible_collections/loyalty/platform; link the checkout there."""
    link = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "loyalty", "platform")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join("..", "..", ".."), link)


_ensure_collection_link()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
# Helpers shared by the suites (tests/localhttp.py).
TESTS_ROOT = os.path.join(REPO_ROOT, "tests")
if TESTS_ROOT not in sys.path:
    sys.path.insert(0, TESTS_ROOT)
# The sandbox's own packages (the fault proxy's client, kubesandbox.control) for the integration suites.
SANDBOX_ROOT = os.path.join(REPO_ROOT, "sandbox")
if SANDBOX_ROOT not in sys.path:
    sys.path.insert(0, SANDBOX_ROOT)


def pytest_configure(config):
    """Markers of the suites."""
    config.addinivalue_line("markers", "private_folder: the private sandbox lives in a 0700 folder, like root's home")
