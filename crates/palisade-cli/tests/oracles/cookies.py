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
import time
import unittest.mock
import uuid

import itsdangerous

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


def emit(name, kind, cookie, data, compressed=False, **verify):
    """One case. `verify` says how the library checks the signature: the
    `secret`, and where needed the `cookie_name` and `salt`; `accepted` is
    whether the library itself accepts the cookie (False when expired)."""
    verify.setdefault("secret", SECRET)
    verify.setdefault("accepted", True)
    line = {"name": name, "kind": kind, "cookie": cookie, "data": data, "compressed": compressed}
    print(json.dumps({**line, "verify": verify}))


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

    # Signed 40 days ago: past PERMANENT_SESSION_LIFETIME (31 days), so
    # Flask refuses it although the signature is good.
    with unittest.mock.patch("time.time", return_value=time.time() - 40 * 86400):
        cookie = serializer.dumps({"_user_id": "42"})
    try:
        serializer.loads(cookie, max_age=app.permanent_session_lifetime.total_seconds())
        accepted = True
    except itsdangerous.SignatureExpired:
        accepted = False
    emit("flask-expired", "flask", cookie, {"_user_id": "42"}, accepted=accepted)

    # SECRET_KEY_FALLBACKS (Flask 3.1): a cookie signed with the old key is
    # still accepted after the key was rotated.
    rotated = Flask("rotated")
    rotated.secret_key = "the-new-" + SECRET
    rotated.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    old_cookie = serializer.dumps({"_user_id": "7"})
    back = rotated.session_interface.get_signing_serializer(rotated).loads(old_cookie)
    emit("flask-fallback-key", "flask", old_cookie, show(dict(back)), fallback=SECRET, secret="the-new-" + SECRET)


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
    back = signing._unsign_cookie(cookie, cookie_name="plan", salt="billing")
    emit("django-signed-cookie", "django-signed-cookie", cookie, back, cookie_name="plan", salt="billing")
    # Before Django 5.2.x's v2 salt, the salt was name + salt; Django still
    # accepts those (SIGNED_COOKIE_LEGACY_SALT_FALLBACK).
    legacy = signing.get_cookie_signer(salt=signing._cookie_signer_legacy_salt("plan", "billing")).sign("basic")
    back = signing._unsign_cookie(legacy, cookie_name="plan", salt="billing")
    emit("django-signed-cookie-legacy", "django-signed-cookie", legacy, back, cookie_name="plan", salt="billing")


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

    now = int(time.time())
    claims = {"sub": "1234", "name": "Ada", "admin": True, "iat": now, "exp": now + 3600}
    emit("jwt-hs256", "jwt", jwt.encode(claims, SECRET, algorithm="HS256"), claims)
    emit("jwt-hs512", "jwt", jwt.encode(claims, SECRET, algorithm="HS512"), claims)
    old = {"sub": "1234", "iat": now - 7200, "exp": now - 3600}
    token = jwt.encode(old, SECRET, algorithm="HS256")
    try:
        jwt.decode(token, SECRET, algorithms=["HS256"])
        accepted = True
    except jwt.ExpiredSignatureError:
        accepted = False
    emit("jwt-expired", "jwt", token, old, accepted=accepted)
    # An alg "none" token has no signature to check: no secret makes it valid.
    emit("jwt-none", "jwt", jwt.encode({"sub": "1"}, None, algorithm="none"), {"sub": "1"}, accepted=False)


if __name__ == "__main__":
    flask_cookies()
    django_cookies()
    starlette_cookies()
    jwts()
    sys.stdout.flush()
