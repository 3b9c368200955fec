#!/usr/bin/env python3
"""One instance of soak_heal.py's service: a tiny HTTP/1.1 keep-alive server on 127.0.0.1.

usage: soak_upstream.py PORT PIDFILE [BOOT_MS]

With BOOT_MS it waits that long before it binds its port, as a service that takes a
while to boot (Gunicorn loading an app, a JVM) does.

GET (any path, /health too) answers 200 "ok"; POST reads its body (Content-Length) and
answers 200 with its length. One thread per connection. The pid file is written once the
port is bound and listening (so that a second start on a port in use fails before it and
leaves the pid of the one serving). Only socket and threading are imported, so that it
starts quickly (http.server's imports take several times longer on a busy machine); each
response is one write, so that Nagle's algorithm never holds its body back.
"""
import os
import socket
import sys
import threading


def reply(conn, status, body):
    conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                 % (status, len(body), body))


def serve(conn):
    buffer = b""
    try:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method = lines[0].split(b" ", 1)[0]
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":
                    reply(conn, b"501 Not Implemented", b"no chunked bodies here\n")
                    return
            while len(buffer) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            body, buffer = buffer[:length], buffer[length:]
            if method == b"POST":
                reply(conn, b"200 OK", b"got %d bytes\n" % len(body))
            else:
                reply(conn, b"200 OK", b"ok\n")
            if close:
                return
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    if len(sys.argv) == 4:
        import time
        time.sleep(int(sys.argv[3]) / 1000)  # booting
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(128)
    pidfile = sys.argv[2]
    with open(pidfile + ".new", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".new", pidfile)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
