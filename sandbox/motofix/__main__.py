"""moto's server with the sandbox's corrections.

  python -m motofix -H 127.0.0.1 -p 25000

The arguments are moto_server's (moto.server.main). AWS's managed IAM policies are loaded unless the environment sets
MOTO_IAM_LOAD_MANAGED_POLICIES otherwise.
"""

import os
import sys

from moto import server

from . import MANAGED_POLICIES_ENV, apply


def main(argv=None):
    os.environ.setdefault(MANAGED_POLICIES_ENV, "true")
    apply()
    server.main(list(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
