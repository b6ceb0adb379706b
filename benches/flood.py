#!/usr/bin/env python3
"""A stranger flood on a run's ports, for BENCHMARKS.md "Under a stranger flood".

Opens connections to the given ports at a steady rate for a while. A share of
them (--idle) say nothing and are held open until the run closes them; the
rest each send one piece of garbage (a hello with a guessed token, an HTTP
request, a length prefix over the frame limit, an unknown frame) and hang up
at once. At the end it prints one JSON object: connections made and failed,
and how many idle ones the run closed, and how long after their connect
(p50/p99/max ms).

    python3 benches/flood.py --ports 41000,41001,41002 --rate 2000 --seconds 20

Standard library only. Each idle connection holds one file descriptor here
until the run closes it: raise this process's limit (ulimit -n) for long
floods of idle connections against code that never closes them.
"""
import argparse
import errno
import json
import selectors
import socket
import struct
import time

PROTOCOL_VERSION = 2
HELLO_TAG = 1


def framed(payload):
    return struct.pack(">I", len(payload)) + payload


GARBAGE = [
    framed(struct.pack(">BHQI", HELLO_TAG, PROTOCOL_VERSION, 42, 1)),
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\xff\xff\xff\xf0\x01\x02\x03",
    framed(b"\xee\x01\x02\x03"),
]


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def rounded(ms):
    return None if ms is None else round(ms, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ports", required=True, help="comma-separated")
    ap.add_argument("--rate", type=float, required=True, help="connections per second")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--idle", type=float, default=0.5, help="share held open, silent")
    ap.add_argument("--linger", type=float, default=5.0,
                    help="seconds to keep watching idle connections after the flood")
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")]

    sel = selectors.DefaultSelector()
    opened_at = {}
    closed_after = []
    made = failed = idle_opened = 0
    errors = {}
    idle_debt = 0.0

    def watch(timeout):
        for key, _ in sel.select(timeout):
            sock = key.fileobj
            try:
                data = sock.recv(16)
            except (ConnectionResetError, OSError):
                data = b""
            if data:
                continue  # the run never writes to a stranger; ignore
            closed_after.append((time.monotonic() - opened_at.pop(sock)) * 1000)
            sel.unregister(sock)
            sock.close()

    start = time.monotonic()
    n = 0
    while True:
        now = time.monotonic()
        if now - start >= args.seconds:
            break
        due = int((now - start) * args.rate)
        while n < due:
            n += 1
            port = ports[n % len(ports)]
            idle_debt += args.idle
            idle = idle_debt >= 1.0
            if idle:
                idle_debt -= 1.0
            try:
                sock = socket.create_connection((args.host, port), timeout=2)
            except OSError as e:
                failed += 1
                name = errno.errorcode.get(e.errno, str(e))
                errors[name] = errors.get(name, 0) + 1
                continue
            made += 1
            if idle:
                idle_opened += 1
                sock.setblocking(False)
                opened_at[sock] = time.monotonic()
                sel.register(sock, selectors.EVENT_READ)
            else:
                try:
                    sock.sendall(GARBAGE[n % len(GARBAGE)])
                except OSError:
                    pass
                sock.close()
        watch(0.001)
    end = time.monotonic() + args.linger
    while opened_at and time.monotonic() < end:
        watch(0.05)
    closed_after.sort()
    print(json.dumps({
        "seconds": round(time.monotonic() - start, 2),
        "rate_asked": args.rate,
        "made": made,
        "failed": failed,
        "errors": errors,
        "idle_opened": idle_opened,
        "idle_closed_by_run": len(closed_after),
        "idle_still_open": len(opened_at),
        "closed_after_ms": {
            "p50": rounded(quantile(closed_after, 0.5)),
            "p99": rounded(quantile(closed_after, 0.99)),
            "max": rounded(closed_after[-1] if closed_after else None),
        },
    }))


if __name__ == "__main__":
    main()
