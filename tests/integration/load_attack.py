#!/usr/bin/env python3
"""Hostile load for test_load.sh: many connections held open, slowloris
requests, a flood of release attempts with invalid tokens, and oversized
heads and bodies, each from its own loopback source address.

usage: load_attack.py HOST PORT CAFILE SECONDS HOLD READYFILE

Holds HOLD TLS connections (half of them trickling a request head one byte
a second, half idle after the handshake), reopening what the server closes,
for SECONDS; writes READYFILE once all are open.  Prints one JSON object of
counts on standard output at the end.
"""
import asyncio
import json
import ssl
import sys
import time

HOST, PORT, CA, SECONDS, HOLD, READY = (sys.argv[1], int(sys.argv[2]),
                                        sys.argv[3], float(sys.argv[4]),
                                        int(sys.argv[5]), sys.argv[6])
SLOW_SRC, FLOOD_SRC, BIG_SRC = '127.0.0.3', '127.0.0.2', '127.0.0.4'

stats = {'held_max': 0, 'opened': 0, 'open_failed': 0, 'closed_by_server': 0,
         'flood': {}, 'flood_retry_after': 0, 'flood_errors': 0,
         'big_header': [], 'big_body': []}
held = 0


def tls():
    ctx = ssl.create_default_context(cafile=CA)
    ctx.check_hostname = False
    return ctx


async def connect(src):
    return await asyncio.wait_for(asyncio.open_connection(
        HOST, PORT, ssl=tls(), local_addr=(src, 0)), 30)


async def holder(i, deadline):
    """One held connection; slowloris when i is odd."""
    global held
    while time.monotonic() < deadline:
        try:
            r, w = await connect(SLOW_SRC)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            stats['open_failed'] += 1
            await asyncio.sleep(0.5)
            continue
        stats['opened'] += 1
        held += 1
        stats['held_max'] = max(stats['held_max'], held)
        head = (b'POST /keys/k/release HTTP/1.1\r\nHost: x\r\n'
                b'X-Slow: ' + b'a' * 4096)
        try:
            n = 0
            while time.monotonic() < deadline:
                if i % 2:
                    w.write(head[n % len(head):n % len(head) + 1])
                    n += 1
                    await w.drain()
                try:
                    data = await asyncio.wait_for(r.read(4096), 1.0)
                    if not data:
                        stats['closed_by_server'] += 1
                        break
                except asyncio.TimeoutError:
                    pass
        except (OSError, ssl.SSLError):
            stats['closed_by_server'] += 1
        finally:
            held -= 1
            w.close()


async def request(r, w, method, path, headers, body):
    """One HTTP/1.1 exchange: (status, has Retry-After, connection kept)."""
    head = f'{method} {path} HTTP/1.1\r\nHost: x\r\n'.encode()
    for k, v in headers:
        head += f'{k}: {v}\r\n'.encode()
    head += f'Content-Length: {len(body)}\r\n\r\n'.encode()
    w.write(head + body)
    await w.drain()
    status = await asyncio.wait_for(r.readline(), 30)
    parts = status.split()
    code = int(parts[1]) if len(parts) > 1 else 0
    length, retry, keep = None, False, True
    while True:
        line = await asyncio.wait_for(r.readline(), 30)
        if line in (b'\r\n', b''):
            break
        k, _, v = line.decode('latin-1').partition(':')
        k, v = k.strip().lower(), v.strip().lower()
        if k == 'content-length':
            length = int(v)
        elif k == 'retry-after':
            retry = True
        elif k == 'connection' and v == 'close':
            keep = False
    if length is not None:
        await asyncio.wait_for(r.readexactly(length), 30)
    else:
        await asyncio.wait_for(r.read(), 30)
        keep = False
    return code, retry, keep


async def flooder(deadline):
    """Release attempts with invalid tokens over keep-alive connections:
    until the deadline, and at least 100 of them."""
    body = json.dumps({'target': 'eyJhbGciOiJSUzI1NiJ9.e30.' + 'A' * 342})
    sent = 0
    while time.monotonic() < deadline or sent < 100:
        try:
            r, w = await connect(FLOOD_SRC)
            for _ in range(50):
                if time.monotonic() >= deadline and sent >= 100:
                    break
                sent += 1
                code, retry, keep = await request(
                    r, w, 'POST', '/keys/k/release',
                    [('Content-Type', 'application/json')], body.encode())
                key = str(code)
                stats['flood'][key] = stats['flood'].get(key, 0) + 1
                stats['flood_retry_after'] += code == 429 and retry
                if not keep:
                    break
            w.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ssl.SSLError, ValueError) as e:
            stats['flood_errors'] += 1
            kind = type(e).__name__
            stats.setdefault('flood_error_kinds', {})
            stats['flood_error_kinds'][kind] = \
                stats['flood_error_kinds'].get(kind, 0) + 1
            await asyncio.sleep(0.1)


async def oversized():
    """Heads and bodies over the limits: refused, never served."""
    for size in (20 * 1024, 200 * 1024):
        try:
            r, w = await connect(BIG_SRC)
            code, _, _ = await request(r, w, 'GET', '/keys',
                                    [('X-Big', 'b' * size)], b'')
            stats['big_header'].append(code)
            w.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ssl.SSLError, ValueError):
            stats['big_header'].append('closed')
    for size in (2 * 1024 * 1024, 64 * 1024 * 1024):
        try:
            r, w = await connect(BIG_SRC)
            code, _, _ = await request(r, w, 'PUT', '/keys/big',
                                    [('Content-Type', 'application/json')],
                                    b'{' + b' ' * size + b'}')
            stats['big_body'].append(code)
            w.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ssl.SSLError, ValueError):
            stats['big_body'].append('closed')


async def main():
    deadline = time.monotonic() + SECONDS
    tasks = []
    for i in range(HOLD):
        tasks.append(asyncio.create_task(holder(i, deadline)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    while held < HOLD and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    with open(READY, 'w') as f:
        f.write(f'{held}\n')
    tasks.append(asyncio.create_task(flooder(deadline)))
    tasks.append(asyncio.create_task(oversized()))
    await asyncio.gather(*tasks)


asyncio.run(main())
print(json.dumps(stats))
