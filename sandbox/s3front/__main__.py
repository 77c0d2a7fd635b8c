"""The sandbox's AWS front in front of moto.

  python -m s3front --listen-port 25001 --upstream http://127.0.0.1:25000 [--log FILE] [--verbose]
"""

import argparse
import logging
import signal
import sys
import threading

from .proxy import HOST, Front, FrontServer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen-port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--upstream", required=True, help="http URL of moto on 127.0.0.1")
    parser.add_argument("--log", help="file the front logs to (default: standard error)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        server = FrontServer(args.listen_port, Front(args.upstream))
    except (ValueError, OSError) as exc:
        parser.error(str(exc))

    def _stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("s3front listening on http://%s:%d, forwarding to %s" % (HOST, server.server_address[1], args.upstream), flush=True)
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
