#!/usr/bin/env python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one `GET / HTTP/1.1` on each, reads
the response, then holds them all open.

stdout, one JSON object a line:
  when every connection has been tried: {"held", "failed", "errors", "seconds"}
  on each SIGUSR1: {"still_open"} (connections the server has not closed)
It exits on SIGTERM/SIGINT, or after --hold seconds.
"""

import argparse
import asyncio
import collections
import json
import resource
import signal
import sys
import time


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < needed:
        sys.exit(f"hold_connections: need {needed} open files, the hard limit is {hard}")


async def read_response(reader):
    """Reads one response; returns True when the connection stays usable (keep-alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "200":
        raise RuntimeError(f"status {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        raise RuntimeError("response without length: not keep-alive")
    if "close" in headers.get("connection", ""):
        raise RuntimeError("server sent Connection: close")


async def open_one(port, semaphore, held, errors, timeout):
    async with semaphore:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            await asyncio.wait_for(read_response(reader), timeout)
            held.append((reader, writer))
        except Exception as e:  # every failure is counted by kind, none stops the others
            errors[f"{type(e).__name__}: {e}"[:120]] += 1
            if writer is not None:
                writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=200,
                        help="connections being opened at once (keeps the listen backlog from overflowing)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per connection")
    parser.add_argument("--hold", type=float, default=600.0, help="seconds to hold at most")
    args = parser.parse_args()
    raise_fd_limit(args.count + 64)

    held, errors = [], collections.Counter()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(json.dumps(
        {"still_open": sum(1 for reader, _ in held
                           if not reader.at_eof() and reader.exception() is None)}), flush=True))

    semaphore = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    opening = asyncio.ensure_future(asyncio.gather(
        *(open_one(args.port, semaphore, held, errors, args.timeout) for _ in range(args.count))))
    await asyncio.wait([opening, asyncio.ensure_future(done.wait())], return_when=asyncio.FIRST_COMPLETED)
    if done.is_set():
        opening.cancel()
        return
    print(json.dumps({"held": len(held), "failed": sum(errors.values()), "errors": dict(errors),
                      "seconds": round(time.monotonic() - started, 2)}), flush=True)
    try:
        await asyncio.wait_for(done.wait(), args.hold)
    except asyncio.TimeoutError:
        pass
    for _, writer in held:
        writer.close()


if __name__ == "__main__":
    asyncio.run(main())
