"""kubeemu: a small in-memory Kubernetes API server emulator for tests and benchmarks.

Run it with ``python -m kubeemu --host 127.0.0.1 --port 26443 --token TOKEN``.
See README.md next to this file for what is and is not emulated.
"""

__version__ = "0.1.0"
