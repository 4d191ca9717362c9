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
from moto.s3.responses import S3Response


def _fix_list_parts_root() -> None:
    """moto 5.2.5 answers ListParts with a <ListPartsResponse> root; S3 sends <ListPartsResult>, which is
    what the AWS SDKs parse (boto3 is lenient, the Rust SDK is not). Rename it so clients see real S3."""
    original = S3Response.list_parts

    def list_parts(self):  # type: ignore[no-untyped-def]
        status, headers, body = original(self)
        if isinstance(body, bytes):
            body = body.replace(b"<ListPartsResponse", b"<ListPartsResult").replace(
                b"</ListPartsResponse>", b"</ListPartsResult>"
            )
        elif isinstance(body, str):
            body = body.replace("<ListPartsResponse", "<ListPartsResult").replace(
                "</ListPartsResponse>", "</ListPartsResult>"
            )
        if isinstance(headers, dict) and "content-length" in headers:
            headers["content-length"] = str(len(body))
        return status, headers, body

    S3Response.list_parts = list_parts


def _fix_double_multipart_notification() -> None:
    """moto 5.2.5 completes a multipart upload through put_object, which sends ObjectCreated:Put, and then
    sends ObjectCreated:CompleteMultipartUpload as well. S3 sends only the second, and each event starts a
    workflow, so silence the first (per thread: the server is threaded and a concurrent PutObject must
    still notify)."""
    from moto.s3.models import S3Backend

    completing = threading.local()
    original_complete = S3Backend.complete_multipart_upload
    original_put = S3Backend.put_object

    def complete_multipart_upload(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        completing.active = True
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            completing.active = False

    def put_object(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(completing, "active", False):
            kwargs["disable_notification"] = True
        return original_put(self, *args, **kwargs)

    S3Backend.complete_multipart_upload = complete_multipart_upload
    S3Backend.put_object = put_object



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    _fix_list_parts_root()
    _fix_double_multipart_notification()

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
