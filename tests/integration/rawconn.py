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
  rawconn.py HOST PORT CAFILE hold CONNS STREAMS SIZE PATH LENGTH THEN READYFILE
      CONNS HTTP/2 connections, each opening STREAMS POST requests for PATH
      (with content-length SIZE when LENGTH is "cl", without when it is
      "none") and sending all but the last byte of each body as fast as
      the server's flow control lets them.  THEN "hold": the connections
      are held until the process is killed; "finish": the last byte of
      every body is sent and the answers awaited.  Once every stream has
      sent what it will (and with "finish" been answered), writes a JSON
      summary to READYFILE: bytes sent, streams answered (a HEADERS frame
      came back), reset by the server, connections closed by it, and the
      count of each answer's status.
  rawconn.py HOST PORT CAFILE hold1 CONNS SIZE PATH READYFILE
      CONNS HTTP/1.1 connections, each sending a POST for PATH with
      content-length SIZE and all but the last byte of its body (as far as
      the server reads); writes READYFILE once sending stalls or is done,
      then holds the connections until killed.
"""
import json
import socket
import ssl
import struct
import sys
import time

HOST, PORT, CA, CMD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ARGS = sys.argv[5:]

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def connect(proto):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.check_hostname = False
    ctx.set_alpn_protocols([proto])
    s = socket.create_connection((HOST, PORT), timeout=30)
    return ctx.wrap_socket(s)


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


STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}


def status_of(block):
    """The :status of a response header block, when h2o sends it first as
    an indexed field or a literal with an indexed name and a plain value
    (RFC 7541 sections 6.1 and 6.2); 0 otherwise."""
    if not block:
        return 0
    if block[0] & 0x80:
        return STATIC_STATUS.get(block[0] & 0x7f, 0)
    if block[0] in (0x08, 0x18, 0x48) and len(block) > 2 and \
            not block[1] & 0x80:
        return int(block[2:2 + block[1]] or b'0')
    return 0


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


class H2:
    """One HTTP/2 connection, driven from a single thread (an SSL object
    may not be read and written from two at once): pump() reads what has
    arrived, answers SETTINGS and PING, tracks flow control and flushes
    what was queued."""

    def __init__(self):
        self.t = connect('h2')
        self.t.setblocking(False)
        self.inbuf = b''
        self.out = b''
        self.conn_window = 65535
        self.init_window = 65535
        self.windows = {}
        self.ended = {}        # stream -> time its END_STREAM came
        self.answered = set()
        self.reset_by_server = set()
        self.body = {}
        self.status = {}
        self.closed = False
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        self.out += data

    def window(self, sid):
        w = self.windows.get(sid)
        return self.init_window if w is None else w

    def on_frame(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                ident, value = struct.unpack('>HI', payload[i:i + 6])
                if ident == 4:
                    # Open streams' windows move by the change (RFC 7540
                    # section 6.9.2).
                    for k in self.windows:
                        if self.windows[k] is not None:
                            self.windows[k] += value - self.init_window
                    self.init_window = value
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == WINUP:
            inc = struct.unpack('>I', payload)[0] & 0x7fffffff
            if sid == 0:
                self.conn_window += inc
            else:
                self.windows[sid] = self.window(sid) + inc
        elif ftype == HEADERS:
            self.answered.add(sid)
            self.status[sid] = status_of(payload)
        elif ftype == DATA:
            self.body[sid] = self.body.get(sid, b'') + payload
        elif ftype == RST:
            self.reset_by_server.add(sid)
            self.ended.setdefault(sid, None)
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            self.closed = True
        if ftype in (DATA, HEADERS) and flags & END_STREAM:
            self.ended[sid] = time.monotonic()

    def pump(self):
        """Read and write what can be without waiting; 1 on progress."""
        progress = 0
        while not self.closed:
            try:
                chunk = self.t.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                    BlockingIOError):
                break
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            progress = 1
            self.inbuf += chunk
            while len(self.inbuf) >= 9:
                n = int.from_bytes(self.inbuf[:3], 'big')
                if len(self.inbuf) < 9 + n:
                    break
                f, self.inbuf = read_frame(None, self.inbuf)
                self.on_frame(*f)
        while self.out and not self.closed:
            try:
                n = self.t.send(self.out[:65536])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                    BlockingIOError):
                break
            except OSError:
                self.closed = True
                break
            self.out = self.out[n:]
            progress = 1
        return progress


def wait_any(conns, timeout=0.05):
    import select
    rd = [c.t for c in conns if not c.closed]
    wr = [c.t for c in conns if not c.closed and c.out]
    if rd:
        select.select(rd, wr, [], timeout)
    else:
        time.sleep(timeout)


def cmd_timed(token, slow, fast, delay):
    c = H2()
    sent = {1: time.monotonic()}
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                 request_headers('GET', slow, bearer=token)))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not c.closed:
        c.pump()
        if 3 not in sent and time.monotonic() - sent[1] >= delay:
            sent[3] = time.monotonic()
            c.send(frame(HEADERS, END_STREAM | END_HEADERS, 3,
                         request_headers('GET', fast, bearer=token)))
        if 1 in c.ended and 3 in c.ended:
            break
        wait_any([c])

    def took(sid):
        end = c.ended.get(sid)
        return None if end is None or sid not in sent else end - sent[sid]
    print(json.dumps({'slow_s': took(1), 'fast_s': took(3),
                      'slow_body': c.body.get(1, b'').decode(errors='replace'),
                      'fast_body': c.body.get(3, b'').decode(errors='replace')}))


def write_ready(ready, summary):
    import os
    with open(ready + '.tmp', 'w') as f:
        json.dump(summary, f)
    os.rename(ready + '.tmp', ready)


def cmd_hold(nconns, nstreams, size, path, length, then, ready):
    conns, left, sent = [], [], 0
    for _ in range(nconns):
        c = H2()
        for i in range(nstreams):
            c.send(frame(HEADERS, END_HEADERS, 2 * i + 1,
                         request_headers('POST', path, size
                                         if length == 'cl' else None)))
        conns.append(c)
        left.append({2 * i + 1: size - 1 for i in range(nstreams)})
    # Send until every body is all but done, or flow control holds the
    # rest back for a while.
    idle_since = time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        moved = 0
        for c, lf in zip(conns, left):
            moved |= c.pump()
            for sid in list(lf):
                if c.closed or len(c.out) > 65536:
                    break
                if (lf[sid] == 0 or sid in c.reset_by_server or
                        sid in c.answered):
                    continue
                n = min(16384, lf[sid], c.conn_window, c.window(sid))
                if n <= 0:
                    continue
                c.conn_window -= n
                c.windows[sid] = c.window(sid) - n
                c.send(frame(DATA, 0, sid, b'x' * n))
                lf[sid] -= n
                sent += n
                moved = 1
        if moved:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 2:
            break
        if not moved:
            wait_any(conns)
    if then == 'finish':
        for c, lf in zip(conns, left):
            for sid, n in lf.items():
                if n == 0 and sid not in c.reset_by_server:
                    c.send(frame(DATA, END_STREAM, sid, b'x'))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                c.closed or len(c.ended) >= nstreams for c in conns):
            for c in conns:
                c.pump()
            wait_any(conns)
    statuses = {}
    for c in conns:
        for st in c.status.values():
            statuses[str(st)] = statuses.get(str(st), 0) + 1
    write_ready(ready, {
        'sent': sent,
        'answered': sum(len(c.answered) for c in conns),
        'reset': sum(len(c.reset_by_server - c.answered) for c in conns),
        'closed': sum(1 for c in conns if c.closed),
        'status': statuses,
    })
    while True:
        for c in conns:
            c.pump()
        wait_any(conns, 1)


def cmd_hold1(nconns, size, path, ready):
    head = ('POST %s HTTP/1.1\r\nHost: skr.test\r\nContent-Type: '
            'application/json\r\nContent-Length: %d\r\n\r\n' %
            (path, size)).encode()
    conns, sent = [], 0
    for _ in range(nconns):
        t = connect('http/1.1')
        t.sendall(head)
        t.settimeout(0.2)
        conns.append([t, size - 1])
    chunk = b'x' * 16384
    progress = True
    deadline = time.monotonic() + 20
    while progress and time.monotonic() < deadline:
        progress = False
        for c in conns:
            if c[1] == 0:
                continue
            try:
                n = c[0].send(chunk[:min(len(chunk), c[1])])
            except (ssl.SSLWantWriteError, socket.timeout, OSError):
                continue
            c[1] -= n
            sent += n
            progress = progress or n > 0
    write_ready(ready, {'sent': sent})
    while True:
        time.sleep(60)


if CMD == 'reset':
    cmd_reset(ARGS[0], int(ARGS[1]))
elif CMD == 'timed':
    cmd_timed(ARGS[0], ARGS[1], ARGS[2], float(ARGS[3]))
elif CMD == 'hold':
    cmd_hold(int(ARGS[0]), int(ARGS[1]), int(ARGS[2]), ARGS[3], ARGS[4],
             ARGS[5], ARGS[6])
elif CMD == 'hold1':
    cmd_hold1(int(ARGS[0]), int(ARGS[1]), ARGS[2], ARGS[3])
else:
    sys.exit(__doc__)
