"""Command line entry point: ``python -m kubeemu --host 127.0.0.1 --port 26443 --token TOKEN``."""

import argparse
import logging
import signal
import sys
import threading

from .server import build


def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="kubeemu", description="In-memory Kubernetes API server emulator (plain HTTP, bearer token).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=26443, help="port to listen on; 0 picks a free one (default 26443)")
    parser.add_argument("--token", required=True, help="bearer token every request must carry")
    parser.add_argument("--ready-delay", type=float, default=0.5, help="seconds before a new pod turns ready (default 0.5)")
    parser.add_argument("--log-file", help="write an access/debug log here")
    return parser.parse_args(argv)


def main(argv=None):
    """Run until SIGTERM or SIGINT."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=logging.INFO, format="%(asctime)s %(threadName)s %(name)s %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, format="kubeemu: %(levelname)s %(message)s")
    emu, server = build(args.host, args.port, args.token, args.ready_delay)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emu.controller.start()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="kubeemu-http", daemon=True)
    serving.start()
    host, port = server.server_address[:2]
    print("kubeemu listening on http://%s:%d" % (host, port), flush=True)
    # Wait in short slices so the signal handler gets to run promptly in the main thread.
    while not stop.wait(0.2):
        pass
    emu.stopping.set()
    server.shutdown()
    server.server_close()
    emu.controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
