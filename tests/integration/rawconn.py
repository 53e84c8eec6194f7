#!/usr/bin/env python3
"""Raw TLS clients for test_limits.sh: connections that end badly, and
HTTP/2 requests written frame by frame (RFC 7540), so that a test can hold
request bodies unfinished on many streams at once.

usage:
  rawconn.py HOST PORT CAFILE reset MODE COUNT
      COUNT connections one after the other, each ended with a TCP reset
      (SO_LINGER 0).  MODE: h1 (HTTP/1.1 GET /healthz, read the answer),
      h2 (the same over HTTP/2), handshake (reset right after the TLS
      handshake), h2-request (reset right after an HTTP/2 request, without
      reading).  Prints "done COUNT".
  rawconn.py HOST PORT CAFILE timed TOKEN SLOWPATH FASTPATH DELAY
      One HTTP/2 connection: GET SLOWPATH on stream 1 and, DELAY seconds
      later, GET FASTPATH on stream 3, both with the bearer TOKEN.  Prints
      a JSON object: the seconds each took to be answered in full (fast_s
      from its own request) and each body.
  rawconn.py HOST PORT CAFILE hold CONNS STREAMS SIZE PATH READYFILE
      CONNS HTTP/2 connections, each opening STREAMS POST requests for PATH
      with content-length SIZE and sending all but the last byte of each
      body as fast as the server's flow control lets them; then the
      connections are held until the process is killed.  Once every stream
      has sent what it will, writes a JSON summary to READYFILE: bytes
      sent, streams answered (a HEADERS frame came back) and streams reset
      by the server.
"""
import json
import socket
import ssl
import struct
import sys
import threading
import time

HOST, PORT, CA, CMD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ARGS = sys.argv[5:]

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


class Locked:
    """A TLS socket whose writes may come from several threads (an
    SSLSocket's may not)."""

    def __init__(self, t):
        self.t = t
        self.mu = threading.Lock()

    def sendall(self, data):
        with self.mu:
            self.t.sendall(data)

    def __getattr__(self, name):
        return getattr(self.t, name)


def connect(proto):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.check_hostname = False
    ctx.set_alpn_protocols([proto])
    s = socket.create_connection((HOST, PORT), timeout=30)
    return Locked(ctx.wrap_socket(s))


def reset(t):
    """End the connection with a TCP reset: no close_notify, no FIN."""
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    t.close()


def frame(ftype, flags, stream, payload=b''):
    return (struct.pack('>I', len(payload))[1:] + bytes([ftype, flags]) +
            struct.pack('>I', stream) + payload)


def hpack_literal(index, value):
    """A literal header field without indexing, with an indexed name from
    the static table (RFC 7541 section 6.2.2), value not Huffman coded."""
    assert index < 15 and len(value) < 127
    return bytes([index, len(value)]) + value


def request_headers(method, path, length=None, bearer=None):
    block = bytes([0x83 if method == 'POST' else 0x82, 0x87])  # :method, :scheme https
    block += hpack_literal(4, path.encode())                     # :path
    block += hpack_literal(1, b'skr.test')                       # :authority
    if bearer is not None:
        value = b'Bearer ' + bearer.encode()
        block += bytes([0x0f, 0x08, len(value)]) + value        # authorization (23)
    if length is not None:
        block += bytes([0x0f, 0x0d]) + bytes([len(str(length))]) + \
            str(length).encode()                                 # content-length (28)
        block += bytes([0x0f, 0x10, 16]) + b'application/json'  # content-type (31)
    return block


def read_frame(t, buf):
    while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], 'big'):
        chunk = t.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    n = int.from_bytes(buf[:3], 'big')
    f = (buf[3], buf[4], int.from_bytes(buf[5:9], 'big') & 0x7fffffff,
         bytes(buf[9:9 + n]))
    return f, buf[9 + n:]


def cmd_reset(mode, count):
    for _ in range(count):
        t = connect('http/1.1' if mode == 'h1' else 'h2')
        if mode == 'h1':
            t.sendall(b'GET /healthz HTTP/1.1\r\nHost: skr.test\r\n\r\n')
            t.recv(100)
        elif mode in ('h2', 'h2-request'):
            t.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                      frame(HEADERS, END_STREAM | END_HEADERS, 1,
                            request_headers('GET', '/healthz')))
            if mode == 'h2':
                t.recv(100)
        reset(t)
    print('done', count)


def cmd_timed(token, slow, fast, delay):
    t = connect('h2')
    t.sendall(PREFACE + frame(SETTINGS, 0, 0))
    done, body, sent = {}, {1: b'', 3: b''}, {}
    lock = threading.Condition()

    def reader():
        buf = b''
        while True:
            try:
                f, buf = read_frame(t, buf)
            except OSError:
                f = None
            with lock:
                if f is None:
                    done.setdefault(1, None)
                    done.setdefault(3, None)
                    lock.notify_all()
                    return
                ftype, flags, sid, payload = f
                if ftype == SETTINGS and not flags & ACK:
                    t.sendall(frame(SETTINGS, ACK, 0))
                if ftype == DATA and sid in body:
                    body[sid] += payload
                if ftype in (DATA, HEADERS) and flags & END_STREAM:
                    done[sid] = time.monotonic()
                if ftype == RST:
                    done[sid] = None
                lock.notify_all()

    threading.Thread(target=reader, daemon=True).start()
    sent[1] = time.monotonic()
    t.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                    request_headers('GET', slow, bearer=token)))
    time.sleep(delay)
    sent[3] = time.monotonic()
    t.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                    request_headers('GET', fast, bearer=token)))
    with lock:
        lock.wait_for(lambda: 1 in done and 3 in done, 300)

    def took(sid):
        return None if done.get(sid) is None else done[sid] - sent[sid]
    print(json.dumps({'slow_s': took(1), 'fast_s': took(3),
                      'slow_body': body[1].decode(errors='replace'),
                      'fast_body': body[3].decode(errors='replace')}))


class Conn:
    """One HTTP/2 connection sending unfinished bodies on many streams."""

    def __init__(self, streams, size, path):
        self.t = connect('h2')
        self.lock = threading.Condition()
        self.conn_window = 65535
        self.init_window = 65535
        self.windows = {}
        self.answered = set()
        self.reset_by_server = set()
        self.sent = 0
        self.closed = False
        self.streams = [2 * i + 1 for i in range(streams)]
        self.size = size
        self.t.sendall(PREFACE + frame(SETTINGS, 0, 0))
        threading.Thread(target=self.reader, daemon=True).start()
        for sid in self.streams:
            self.windows[sid] = None
            self.t.sendall(frame(HEADERS, END_HEADERS, sid,
                                 request_headers('POST', path, size)))

    def reader(self):
        buf = b''
        while True:
            try:
                f, buf = read_frame(self.t, buf)
            except OSError:
                f = None
            with self.lock:
                if f is None:
                    self.closed = True
                    self.lock.notify_all()
                    return
                ftype, flags, sid, payload = f
                if ftype == SETTINGS and not flags & ACK:
                    for i in range(0, len(payload), 6):
                        ident, value = struct.unpack('>HI', payload[i:i + 6])
                        if ident == 4:
                            self.init_window = value
                    self.t.sendall(frame(SETTINGS, ACK, 0))
                elif ftype == WINUP:
                    inc = struct.unpack('>I', payload)[0] & 0x7fffffff
                    if sid == 0:
                        self.conn_window += inc
                    elif sid in self.windows:
                        self.windows[sid] = self.window(sid) + inc
                elif ftype == HEADERS:
                    self.answered.add(sid)
                elif ftype == RST:
                    self.reset_by_server.add(sid)
                elif ftype == PING and not flags & ACK:
                    self.t.sendall(frame(PING, ACK, 0, payload))
                elif ftype == GOAWAY:
                    self.closed = True
                self.lock.notify_all()

    def window(self, sid):
        w = self.windows[sid]
        return self.init_window if w is None else w

    def send_bodies(self, deadline):
        """Send all but the last byte of every body, as windows allow."""
        left = {sid: self.size - 1 for sid in self.streams}
        chunk = 16384
        while time.monotonic() < deadline:
            with self.lock:
                live = [s for s in left if left[s] > 0 and
                        s not in self.reset_by_server and
                        s not in self.answered]
                if not live or self.closed:
                    return
                sendable = [s for s in live if self.window(s) > 0]
                if self.conn_window <= 0 or not sendable:
                    self.lock.wait(0.5)
                    if self.conn_window <= 0 or not any(
                            self.window(s) > 0 for s in live):
                        # Flow control holds the rest back for good.
                        if time.monotonic() > deadline - 1:
                            return
                    continue
                sid = sendable[0]
                n = min(chunk, left[sid], self.conn_window, self.window(sid))
                self.conn_window -= n
                self.windows[sid] = self.window(sid) - n
            try:
                self.t.sendall(frame(DATA, 0, sid, b'x' * n))
            except OSError:
                return
            left[sid] -= n
            self.sent += n


def cmd_hold(nconns, nstreams, size, path, ready):
    conns = [Conn(nstreams, size, path) for _ in range(nconns)]
    threads = []
    for c in conns:
        th = threading.Thread(target=c.send_bodies,
                              args=(time.monotonic() + 20,), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    time.sleep(0.5)
    summary = {
        'sent': sum(c.sent for c in conns),
        'answered': sum(len(c.answered) for c in conns),
        'reset': sum(len(c.reset_by_server - c.answered) for c in conns),
        'closed': sum(1 for c in conns if c.closed),
    }
    with open(ready + '.tmp', 'w') as f:
        json.dump(summary, f)
    import os
    os.rename(ready + '.tmp', ready)
    while True:
        time.sleep(60)


if CMD == 'reset':
    cmd_reset(ARGS[0], int(ARGS[1]))
elif CMD == 'timed':
    cmd_timed(ARGS[0], ARGS[1], ARGS[2], float(ARGS[3]))
elif CMD == 'hold':
    cmd_hold(int(ARGS[0]), int(ARGS[1]), int(ARGS[2]), ARGS[3], ARGS[4])
else:
    sys.exit(__doc__)
