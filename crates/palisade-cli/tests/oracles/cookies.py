"""Cookies made by the real libraries, for tests/decode_oracles.rs.

Prints one JSON object per line: {"name", "kind", "cookie", "data",
"compressed"}. `data` is what the library itself reads back from the cookie
(with the secret), in the display form `palisade decode` promises for
values JSON cannot hold: a tuple as an array, bytes as base64, a UUID in its
dashed form, a datetime as the HTTP date Flask stores, markup as its text.
"""

import asyncio
import base64
import datetime
import json
import sys
import uuid

SECRET = "oracle-secret-" + "x" * 40


def show(value):
    """The display form of a value Flask's session read back."""
    from markupsafe import Markup
    from werkzeug.http import http_date

    if isinstance(value, dict):
        return {k: show(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [show(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return http_date(value)
    return value


def emit(name, kind, cookie, data, compressed=False):
    print(json.dumps({"name": name, "kind": kind, "cookie": cookie, "data": data, "compressed": compressed}))


def flask_cookies():
    from flask import Flask, session
    from markupsafe import Markup

    app = Flask(__name__)
    app.secret_key = SECRET
    cases = {
        "flask-login-like": lambda: session.update({"_user_id": "42", "_fresh": True, "_id": "ab" * 64}),
        "flask-tagged": lambda: session.update(
            {
                "tuple": (1, "two", 3.5),
                "bytes": b"\x00\x01binary\xff",
                "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                "when": datetime.datetime(2026, 12, 2, 7, 30, tzinfo=datetime.timezone.utc),
                "markup": Markup("<b>bold</b>"),
                "nested": {"list": [{"t": (1,)}]},
                " t": "a key that looks like a tag",
            }
        ),
        # Repetitive data compresses: Flask then writes `.` + zlib.
        "flask-compressed": lambda: session.update({"cart": ["item-%d" % (i % 3) for i in range(120)]}),
        "flask-unicode": lambda: session.update({"name": "Zoë ☃", "quote": 'a "quoted" \\ value'}),
    }
    for name, fill in cases.items():
        view = f"view_{name.replace('-', '_')}"

        def handler(fill=fill):
            fill()
            return "ok"

        app.add_url_rule(f"/{name}", view, handler)
    client = app.test_client()
    serializer = app.session_interface.get_signing_serializer(app)
    for name in cases:
        response = client.get(f"/{name}")
        header = response.headers["Set-Cookie"]
        cookie = header.split(";", 1)[0].split("=", 1)[1]
        data = show(dict(serializer.loads(cookie)))
        emit(name, "flask", cookie, data, cookie.startswith("."))
        client.delete_cookie("session")


def django_cookies():
    import django
    from django.conf import settings

    settings.configure(SECRET_KEY=SECRET, SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    django.setup()
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.core import signing
    from django.http import HttpResponse

    for name, data in {
        "django-session": {"_auth_user_id": "7", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend"},
        "django-session-compressed": {"history": ["/page/%d" % (i % 4) for i in range(100)]},
    }.items():
        store = SessionStore()
        store.update(data)
        store.save()
        cookie = store.session_key
        back = signing.loads(cookie, salt="django.contrib.sessions.backends.signed_cookies", serializer=store.serializer)
        emit(name, "django-session", cookie, back, cookie.startswith("."))

    response = HttpResponse()
    response.set_signed_cookie("plan", "premium:annual", salt="billing")
    cookie = response.cookies["plan"].value
    emit("django-signed-cookie", "django-signed-cookie", cookie, "premium:annual")


def starlette_cookies():
    from starlette.middleware.sessions import SessionMiddleware

    async def app(scope, receive, send):
        scope["session"].update({"user": {"id": 9, "name": "Ada"}, "roles": ["admin"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = SessionMiddleware(app, secret_key=SECRET)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "scheme": "http"}
    asyncio.run(middleware(scope, receive, send))
    headers = dict(sent[0]["headers"])
    cookie = headers[b"set-cookie"].decode().split(";", 1)[0].split("=", 1)[1]
    emit("starlette-session", "starlette", cookie, {"user": {"id": 9, "name": "Ada"}, "roles": ["admin"]})


def jwts():
    import jwt

    claims = {"sub": "1234", "name": "Ada", "admin": True, "iat": 1764660600, "exp": 1764664200}
    emit("jwt-hs256", "jwt", jwt.encode(claims, SECRET, algorithm="HS256"), claims)
    emit("jwt-none", "jwt", jwt.encode({"sub": "1"}, None, algorithm="none"), {"sub": "1"})


if __name__ == "__main__":
    flask_cookies()
    django_cookies()
    starlette_cookies()
    jwts()
    sys.stdout.flush()
