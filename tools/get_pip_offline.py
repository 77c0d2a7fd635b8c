"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test sanity fetches get-pip-<version>.py from the internet before it builds its virtual
environments. This machine has only the package index, so `make sanity` saves this file where
ansible-test looks for its cache. It installs pip with ensurepip, then runs pip with the
arguments it was given (minus the get-pip-only flags), which reach the package index as usual.
"""

import ensurepip
import os
import re
import shutil
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}


def install_cache():
    """Copy this script to the path ansible-test checks for the pip version it pins."""
    import ansible_test  # pylint: disable=import-outside-toplevel

    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        version = re.search(r"pip='([0-9.]+)'", handle.read()).group(1)
    target = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(os.path.abspath(__file__), target)
    print("pip %s bootstrap for ansible-test: %s" % (version, target))
    return 0


def main():
    if sys.argv[1:] == ["--install-cache"]:
        return install_cache()
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    sys.exit(main())
