#!/usr/bin/env python3
"""A scripted web site for the `palisade audit` / MDN HTTP Observatory corpus.

Usage: site.py IP CONFIG.json CERT KEY

Serves plain HTTP on IP:80 and HTTPS (CERT/KEY) on IP:443 as CONFIG says,
prints "ready" on stdout once every listener is bound, and exits when stdin
reaches end of file (or on SIGTERM/SIGKILL). Nothing else is written to
stdout; nothing is logged. Python 3.11 standard library only (plus the
`openssl` command for "https_cert": "self-signed").

CONFIG is one corpus entry (tests/observatory/corpus.json), a JSON object:

    {
      "name": "unique-descriptive-name",       # required, used in reports
      "about": "free text",                     # optional, ignored
      "paths":   {PATH: RESPONSE, ...},         # served on both schemes
      "default": RESPONSE,                      # unknown paths (both schemes)
      "http":  SCHEME | null,                   # port 80; null: not listening
      "https": SCHEME | null,                   # port 443; null: not listening
      "https_cert": "leaf" | "self-signed" | "plain",
      "also_listen": [IP | LISTENER, ...]
    }

  SCHEME = {"paths": {PATH: RESPONSE}, "default": RESPONSE}
      A scheme's paths are the shared "paths" with its own on top (same
      key: its own wins); its default is its own, else the shared one, else
      404 text/plain "not found". A missing "http"/"https" key means {}
      (the shared paths only).

  PATH is matched exactly, first with the query string, then without it.

  RESPONSE = {
      "status": 200,                    # default 200
      "headers": [[NAME, VALUE], ...],  # in order, repeats allowed (several
                                        # Set-Cookie or CSP lines, ...)
      "body": "text",                   # default ""
      "pad": N,                         # "{{pad}}" in body becomes an HTML
                                        # comment N bytes long (huge pages)
      "gzip": false | true | "negotiate",
                                        # true: always gzip the body and send
                                        # Content-Encoding: gzip; "negotiate":
                                        # only if Accept-Encoding has gzip
      "reflect_origin": false,          # true: echo the request's Origin (if
                                        # any) in Access-Control-Allow-Origin
      "methods": {METHOD: RESPONSE},    # per-method override, e.g. "OPTIONS"
                                        # for CORS preflights; without one,
                                        # every method gets this response
                                        # (HEAD without the body)
      "raw": "HTTP/1.1 200 OK\\r\\n..."   # if given: these exact bytes are the
                                        # whole response (malformed headers)
  }
      Content-Length and "Connection: close" are added unless the headers
      name them (or the status is 1xx/204/304). No Date or Server header
      is sent unless listed.

  Strings are sent as Latin-1: "\\u00a0" is the single byte A0, and
  "\\u00c2\\u00a0" the UTF-8 encoding of a no-break space. In header
  values, bodies and raw responses "{{ip}}" becomes the address the request
  came in on and "{{site}}" the site's main address (IP above).

  "https_cert": "leaf" (default) uses CERT/KEY; "self-signed" makes a fresh
  self-signed certificate for IP with `openssl` in a temporary directory
  (every client fails to verify it); "plain" speaks plain HTTP on 443 (a
  TLS client fails with a protocol error, not a certificate error).

  "also_listen" adds more addresses served by this process: a bare IP
  string serves this same config there; a LISTENER object
  {"ip": IP, "paths", "default", "http", "https", "https_cert"} serves its
  own (keys it does not give are taken from the main config). Use them as
  redirect targets (another host the corpus does not start). The test
  leaf (scripts/observatory.sh) names 127.0.0.1-127.0.0.99 and localhost,
  so an also_listen address above .99 answers HTTPS with a certificate
  that does not match its name. Do not listen on 127.0.0.1: other tests
  (the demo) use it.
"""

import gzip
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler

NOT_FOUND = {"status": 404, "headers": [["Content-Type", "text/plain"]], "body": "not found"}
REASONS = BaseHTTPRequestHandler.responses


def latin1(text):
    return text.encode("latin-1")


class Listener:
    """One scheme on one address: its path table and default response."""

    def __init__(self, ip, site_ip, shared, scheme):
        self.ip = ip
        self.site_ip = site_ip
        self.paths = dict(shared.get("paths") or {})
        self.paths.update((scheme or {}).get("paths") or {})
        self.default = (scheme or {}).get("default") or shared.get("default") or NOT_FOUND

    def lookup(self, target):
        if target in self.paths:
            return self.paths[target]
        path = target.split("?", 1)[0]
        return self.paths.get(path, self.default)

    def fill(self, text):
        return text.replace("{{ip}}", self.ip).replace("{{site}}", self.site_ip)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 20  # a stalled client cannot hold a thread forever

    def log_message(self, format, *args):  # quiet
        pass

    def log_request(self, code="-", size="-"):
        pass

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or len(self.raw_requestline) > 65536:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self.respond()
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def respond(self):
        listener = self.server.listener
        spec = listener.lookup(self.path)
        methods = spec.get("methods") or {}
        spec = methods.get(self.command, spec)
        if "raw" in spec:
            self.wfile.write(latin1(listener.fill(spec["raw"])))
            self.close_connection = True
            return
        status = int(spec.get("status", 200))
        headers = [(n, listener.fill(v)) for n, v in spec.get("headers", [])]
        body = listener.fill(spec.get("body", ""))
        if "{{pad}}" in body:
            size = int(spec.get("pad", 0))
            filler = "<!--" + "x" * max(size - 7, 0) + "-->"
            body = body.replace("{{pad}}", filler)
        data = latin1(body)
        zipped = spec.get("gzip", False)
        if zipped == "negotiate":
            zipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
        if zipped:
            data = gzip.compress(data)
            headers.append(("Content-Encoding", "gzip"))
        origin = self.headers.get("Origin")
        if spec.get("reflect_origin") and origin is not None:
            headers.append(("Access-Control-Allow-Origin", origin))
        names = {n.lower() for n, _ in headers}
        bodyless = status < 200 or status in (204, 304)
        if "content-length" not in names and "transfer-encoding" not in names and not bodyless:
            headers.append(("Content-Length", str(len(data))))
        if "connection" not in names:
            headers.append(("Connection", "close"))
        reason = REASONS.get(status, ("Status",))[0]
        out = [latin1("HTTP/1.1 %d %s\r\n" % (status, reason))]
        out += [latin1("%s: %s\r\n" % (n, v)) for n, v in headers]
        out.append(b"\r\n")
        if self.command != "HEAD" and not bodyless:
            out.append(data)
        self.wfile.write(b"".join(out))
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, listener, tls):
        self.listener = listener
        self.tls = tls  # an SSLContext, or None for plain HTTP
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's own thread, so a
        # client that stalls or rejects the certificate blocks nobody.
        conn = request
        try:
            request.settimeout(20)
            if self.tls is not None:
                conn = self.tls.wrap_socket(request, server_side=True)
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):  # quiet
        pass


def self_signed(ip, workdir):
    cert = os.path.join(workdir, "self-signed-%s.pem" % ip)
    key = os.path.join(workdir, "self-signed-%s.key" % ip)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=%s" % ip, "-addext", "subjectAltName=IP:%s" % ip,
         "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
         "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    return cert, key


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        sys.exit(64)
    site_ip, config_path, cert, key = sys.argv[1:]
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    workdir = tempfile.mkdtemp(prefix="palisade-site-")
    servers = []
    try:
        listeners = [dict(config, ip=site_ip)]
        for extra in config.get("also_listen") or []:
            if isinstance(extra, str):
                listeners.append(dict(config, ip=extra))
            else:
                listeners.append(dict(config, **extra))
        for entry in listeners:
            ip = entry["ip"]
            shared = {"paths": entry.get("paths"), "default": entry.get("default")}
            for scheme, port in (("http", 80), ("https", 443)):
                if scheme in entry and entry[scheme] is None:
                    continue
                tls = None
                if scheme == "https":
                    mode = entry.get("https_cert", "leaf")
                    if mode == "self-signed":
                        tls = tls_context(*self_signed(ip, workdir))
                    elif mode == "leaf":
                        tls = tls_context(cert, key)
                    elif mode != "plain":
                        raise ValueError("unknown https_cert %r" % mode)
                listener = Listener(ip, site_ip, shared, entry.get(scheme))
                servers.append(Server((ip, port), listener, tls))
    except Exception as err:
        sys.stderr.write("site.py %s: cannot start: %s\n" % (site_ip, err))
        shutil.rmtree(workdir, ignore_errors=True)
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)  # the contexts hold the keys
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, KeyboardInterrupt):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
