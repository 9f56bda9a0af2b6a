"""A real Flask app, configured as the Flask quick start leaves it, for
`palisade audit` to scan (tests/audit_flask.rs).

    python flask_site.py IP CERT KEY

Serves the same app on IP:80 (plain HTTP, no redirect) and IP:443 (TLS
with CERT/KEY), prints "ready", and exits when stdin closes. What it does
wrong, on purpose, as many real apps do:

- the default session cookie (signed, readable by anyone) holds a user id
  and an e-mail address, set on plain HTTP too, without Secure or
  SameSite;
- a CORS after_request hook that echoes any Origin with credentials;
- a stylesheet whose integrity value no longer matches the file, next to
  a script whose value does;
- an image over plain HTTP on the HTTPS page, a third-party stylesheet
  without integrity;
- Werkzeug's Server header with its version.
"""

import base64
import hashlib
import sys
import threading

from flask import Flask, request, session
from werkzeug.serving import make_server

app = Flask(__name__)
app.secret_key = "test secret, not for production"

SCRIPT = b"document.documentElement.dataset.ok = '1';\n"
STYLE = b"body { color: #222; }\n"
SCRIPT_SRI = "sha384-" + base64.b64encode(hashlib.sha384(SCRIPT).digest()).decode()
STALE_SRI = "sha384-" + base64.b64encode(hashlib.sha384(b"body { color: red; }\n").digest()).decode()


@app.after_request
def allow_any_origin(response):
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


@app.route("/")
def home():
    session["user_id"] = 42
    session["email"] = "alice@example.com"
    return f"""<!doctype html>
<html><head><title>Flask</title>
<link rel="stylesheet" href="/static/app.css" integrity="{STALE_SRI}" crossorigin="anonymous">
<link rel="stylesheet" href="https://cdn.example/theme.css">
<script src="/static/ok.js" integrity="{SCRIPT_SRI}" crossorigin="anonymous"></script>
</head><body><img src="http://{request.host}/pixel.png" alt=""></body></html>"""


@app.route("/static/ok.js")
def script():
    return SCRIPT, 200, {"Content-Type": "text/javascript"}


@app.route("/static/app.css")
def style():
    return STYLE, 200, {"Content-Type": "text/css"}


def main():
    ip, cert, key = sys.argv[1:4]
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    servers = [
        make_server(ip, 80, app, threaded=True),
        make_server(ip, 443, app, threaded=True, ssl_context=context),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
