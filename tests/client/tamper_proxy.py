#!/usr/bin/env python3
"""A small TLS proxy in front of skrd for the client tests: it plays the
network attacker who holds a certificate the client trusts for TLS but not
the server's release-signing key.

    tamper_proxy.py MODE CERT KEY UPSTREAM UPSTREAM_CA PORTFILE

MODE is "pass" (forward untouched), "tamper" (change one character of the
payload of every release response), "replay" (forward the first release,
then answer every later release with that same response) or "resign" (sign
the payload of every release response anew, ES256, with the P-256 key in
the file $RESIGN_KEY, and send the certificate in $RESIGN_CERT as x5c: the
attacker who holds some other certificate of the server's CA, such as a
TLS-terminating proxy with the server's own TLS key).  The port it listens
on (127.0.0.1, chosen by the system) is written to PORTFILE.
"""
import base64
import json
import subprocess
import http.client
import http.server
import os
import ssl
import sys
import threading
import urllib.parse

MODE, CERT, KEY, UPSTREAM, UPSTREAM_CA, PORTFILE = sys.argv[1:7]
up = urllib.parse.urlsplit(UPSTREAM)
up_ctx = ssl.create_default_context(cafile=UPSTREAM_CA)
recorded = {}
lock = threading.Lock()


def tamper(body):
    # {"value":"<header>.<payload>.<signature>"}: flip one payload character.
    text = body.decode()
    start = text.index('"value":"') + len('"value":"')
    first_dot = text.index(".", start)
    i = first_dot + 10
    c = text[i]
    return (text[:i] + ("A" if c != "A" else "B") + text[i + 1:]).encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_ecdsa_to_raw(sig):
    # SEQUENCE { INTEGER r, INTEGER s } -> r || s, 32 octets each (P-256).
    assert sig[0] == 0x30 and sig[1] < 0x80
    out, i = b"", 2
    for _ in range(2):
        assert sig[i] == 0x02
        n = sig[i + 1]
        out += int.from_bytes(sig[i + 2:i + 2 + n], "big").to_bytes(32, "big")
        i += 2 + n
    return out


def resign(body):
    obj = json.loads(body)
    _, payload, _ = obj["value"].split(".")
    with open(os.environ["RESIGN_CERT"]) as f:
        pem = f.read()
    # The leaf alone: the file may hold its chain after it.
    end = "-----END CERTIFICATE-----"
    der = ssl.PEM_cert_to_DER_cert(pem[:pem.index(end) + len(end)])
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT",
                                "x5c": [base64.b64encode(der).decode()]}).encode())
    signing_input = (header + "." + payload).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                          os.environ["RESIGN_KEY"]], input=signing_input,
                         capture_output=True, check=True).stdout
    obj["value"] = header + "." + payload + "." + b64url(der_ecdsa_to_raw(sig))
    return json.dumps(obj).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        is_release = self.path.split("?")[0].endswith("/release")
        with lock:
            replay = recorded.get("release") if MODE == "replay" and is_release else None
        if replay is not None:
            status, ctype, data = replay
        else:
            conn = http.client.HTTPSConnection(up.hostname, up.port, context=up_ctx,
                                               timeout=30)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection", "content-length")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            status, ctype, data = resp.status, resp.getheader("Content-Type"), resp.read()
            conn.close()
            if is_release and status == 200:
                if MODE == "tamper":
                    data = tamper(data)
                elif MODE == "resign":
                    data = resign(data)
                elif MODE == "replay":
                    with lock:
                        recorded.setdefault("release", (status, ctype, data))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
