"""Runs the pinned moto server (the local AWS emulator vodesk tests and `vodesk local-stack` use) on loopback.

Prints one JSON line `{"endpoint": "http://127.0.0.1:PORT"}` once the server answers, then serves until it is
told to stop. With --exit-on-stdin-eof it also stops when its standard input closes, so a parent process that
dies (a test binary, a killed local stack) never leaves an emulator behind.
"""

import argparse
import json
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        def wait_for_eof() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            stop.set()

        threading.Thread(target=wait_for_eof, daemon=True).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
