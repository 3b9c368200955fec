#!/usr/bin/env python3
"""One instance of soak_heal.py's service: a tiny HTTP/1.1 keep-alive server on 127.0.0.1.

usage: soak_upstream.py PORT PIDFILE

GET (any path, /health too) answers 200 "ok"; POST reads its body and answers 200 with
its length. The pid file is written once the port is bound (so that a second start on a
port in use fails before it, and leaves the pid of the one serving). Each response is one
write, so that Nagle's algorithm never holds its body back.
"""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def do_GET(self):
        self.reply(b"ok\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        self.reply(b"got %d bytes\n" % len(data))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    pidfile = sys.argv[2]
    with open(pidfile + ".new", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".new", pidfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
