#!/usr/bin/env python3
"""An HTTPS file server for the download tests of the fleet link
(tests/unit/fleet_fetch_test.c): serves one file at /bundle with HTTP range
requests, and can drop the connection part way through the first answers.

    fleet_fetch_server.py CERT KEY FILE LOG [--drop-after N] [--drops K] [--no-ranges]

Prints the port it listens on (127.0.0.1) on the first line of stdout; writes
one line per request to LOG: the Range header ("-" when none) and the status.
"""
import http.server
import ssl
import sys


def main():
    cert, key, path, log = sys.argv[1:5]
    args = sys.argv[5:]
    drop_after = int(args[args.index("--drop-after") + 1]) if "--drop-after" in args else -1
    drops = [int(args[args.index("--drops") + 1]) if "--drops" in args else 1]
    ranges = "--no-ranges" not in args
    with open(path, "rb") as f:
        data = f.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path != "/bundle":
                self.note("-", 404)
                self.send_error(404)
                return
            rng = self.headers.get("Range")
            start = 0
            status = 200
            if rng and ranges and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    self.note(rng, 416)
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.note(rng or "-", status)
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range",
                                 "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if drop_after >= 0 and drops[0] > 0:
                drops[0] -= 1
                self.wfile.write(body[:drop_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

        def note(self, rng, status):
            with open(log, "a") as f:
                f.write("%s %d\n" % (rng, status))

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
