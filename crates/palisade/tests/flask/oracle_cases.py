"""Logins made and judged by the real Flask and Flask-Login, for
tests/flask_oracle.rs.

Prints one JSON object per line. A "login" case: the `Cookie` header a
browser sends, the client it comes from, the Flask app's settings, and what
Flask-Login itself decides for that request (`flask`: the user id and
whether the login is fresh, or null when nobody is signed in). A
"session" case adds what Flask's session interface reads from the cookie,
in a typed form (`typed`). An "identifier" case: Flask-Login's
session-protection identifier for a client. Time is fixed at NOW for the
whole run, so ages are exact.
"""

import datetime
import json
import time
import unittest.mock
import uuid

NOW = 1_800_000_000
CURRENT = "flask-current-key-" + "k" * 30
OLD = "flask-old-key-" + "o" * 30
UNKNOWN = "someone-elses-key-" + "u" * 30
DAY = 86_400

clock = {"now": NOW}
unittest.mock.patch("time.time", lambda: clock["now"]).start()

from flask import Flask, jsonify, request, session  # noqa: E402
from flask_login import (  # noqa: E402
    LoginManager,
    UserMixin,
    current_user,
    login_fresh,
    login_user,
    logout_user,
)
from flask_login.utils import _create_identifier  # noqa: E402
from markupsafe import Markup  # noqa: E402


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


def make_app(secret=CURRENT, fallbacks=(), protection="strong", lifetime=31 * DAY, server_side=None):
    """The oracle app; `server_side`: Flask-Session settings (session_cases.py)."""
    app = Flask(__name__)
    app.secret_key = secret
    app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    if server_side:
        from flask_session import Session

        app.config.update(server_side)
        Session(app)
    manager = LoginManager(app)
    manager.session_protection = protection
    manager.user_loader(User)

    @app.get("/login/<user_id>")
    def login(user_id):
        login_user(User(user_id), remember=request.args.get("remember") == "1")
        if request.args.get("permanent") == "1":
            session.permanent = True
        if request.args.get("big") == "1":
            session["notes"] = ["note %d about the account" % i for i in range(60)]
        if request.args.get("types") in ("1", "2"):
            session["types"] = {
                "tuple": (1, "two", None),
                "bytes": b"\x00\x01\xfe\xff",
                "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                "when": datetime.datetime(2026, 12, 1, 10, 30, tzinfo=datetime.timezone.utc),
                "markup": Markup("<b>bold</b>"),
                "tag_like": {" t": "a dict whose key looks like a tag"},
                "nested": [{"a": [1.5, True, False]}, "é"],
            }
            if request.args.get("types") == "2":
                # Flask-Session's msgspec cannot encode Markup.
                del session["types"]["markup"]
        return "ok"

    @app.get("/note")
    def note():
        session["note"] = "no login, a short session"
        return "ok"

    @app.get("/logout")
    def logout():
        logout_user()
        return "bye"

    @app.get("/whoami")
    def whoami():
        if current_user.is_authenticated:
            return jsonify(user_id=current_user.get_id(), fresh=login_fresh())
        return jsonify(None)

    return app


def typed(value):
    """A value as Flask read it back, with its Python type named."""
    if isinstance(value, dict):
        return {"dict": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"tuple": [typed(v) for v in value]}
    if isinstance(value, list):
        return {"list": [typed(v) for v in value]}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Markup):
        return {"markup": str(value)}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, uuid.UUID):
        return {"uuid": value.hex}
    if isinstance(value, datetime.datetime):
        return {"datetime": int(value.timestamp())}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, (int, float)):
        return {"number": value}
    if value is None:
        return {"none": None}
    raise TypeError(type(value))


BROWSER = {"addr": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
OTHER_IP = {**BROWSER, "addr": "198.51.100.9"}
OTHER_UA = {**BROWSER, "user_agent": "curl/8.5.0"}
IPV6 = {"addr": "2001:db8::7", "user_agent": "Mozilla/5.0 \xe9dition sp\xe9ciale"}


def client_for(app, who):
    return app.test_client(), {"REMOTE_ADDR": who["addr"]}, {"User-Agent": who["user_agent"]}


def log_in(app, user_id, who=BROWSER, at=NOW, **args):
    """The cookies a browser holds after logging in on `app`."""
    clock["now"] = at
    client, environ, headers = client_for(app, who)
    query = "&".join(f"{k}={v}" for k, v in args.items())
    client.get(f"/login/{user_id}?{query}", environ_base=environ, headers=headers)
    clock["now"] = NOW
    return client, jar(client)


def jar(client):
    return {name: c.value for name in ("session", "remember_token") if (c := client.get_cookie(name))}


def judge(app, cookies, who):
    """What Flask-Login decides for a request with `cookies` from `who`."""
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    # Without the test client's own cookie jar, which would drop the header.
    client = app.test_client(use_cookies=False)
    response = client.get(
        "/whoami", environ_base={"REMOTE_ADDR": who["addr"]}, headers={"User-Agent": who["user_agent"], "Cookie": header}
    )
    return header, response.get_json()


def emit_login(name, app_settings, cookies, who, **extra):
    app = make_app(**app_settings)
    header, verdict = judge(app, cookies, who)
    settings = {"fallbacks": [], "protection": "strong", "lifetime": 31 * DAY, **app_settings}
    settings.setdefault("secret", CURRENT)
    case = {"case": "login", "name": name, "settings": settings, "cookie_header": header, "client": who, "flask": verdict}
    print(json.dumps({**case, **extra}))


def tamper(value):
    """One character of the payload changed (the signature left as it was)."""
    i = 3
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]


def main():
    app = make_app()
    strong, basic = {}, {"protection": "basic"}

    _, plain = log_in(app, "42")
    emit_login("session, same client", strong, plain, BROWSER)
    emit_login("session, another address", strong, plain, OTHER_IP)
    emit_login("session, another browser", strong, plain, OTHER_UA)
    emit_login("session, another address, basic protection", basic, plain, OTHER_IP)
    emit_login("session tampered", strong, {"session": tamper(plain["session"])}, BROWSER)
    emit_login("no cookies", strong, {}, BROWSER)

    _, remembered = log_in(app, "42", remember=1)
    emit_login("session and remember cookie", strong, remembered, BROWSER)
    emit_login("remember cookie only", strong, {"remember_token": remembered["remember_token"]}, BROWSER)
    emit_login("remember cookie only, another address", strong, {"remember_token": remembered["remember_token"]}, OTHER_IP)
    emit_login("session and remember cookie, another address", strong, remembered, OTHER_IP)
    emit_login(
        "tampered session, valid remember cookie",
        strong,
        {"session": tamper(remembered["session"]), "remember_token": remembered["remember_token"]},
        BROWSER,
    )
    forged = remembered["remember_token"].replace("42|", "43|", 1)
    emit_login("remember cookie with another user id", strong, {"remember_token": forged}, BROWSER)

    _, permanent = log_in(app, "42", permanent=1)
    emit_login("permanent session, another address", strong, permanent, OTHER_IP)

    for days in (30, 32):
        _, aged = log_in(app, "42", at=NOW - days * DAY)
        emit_login(f"session signed {days} days ago", strong, aged, BROWSER)
    _, ahead = log_in(app, "42", at=NOW + 100)
    emit_login("session signed 100 s in the future", strong, ahead, BROWSER)
    emit_login("session signed 2 days ago, lifetime 1 day", {"lifetime": DAY}, log_in(app, "42", at=NOW - 2 * DAY)[1], BROWSER)

    old_app = make_app(secret=OLD)
    _, old = log_in(old_app, "42", remember=1)
    emit_login("session signed with a fallback key", {"fallbacks": [OLD]}, {"session": old["session"]}, BROWSER)
    emit_login("remember cookie signed with a fallback key", {"fallbacks": [OLD]}, {"remember_token": old["remember_token"]}, BROWSER)
    _, unknown = log_in(make_app(secret=UNKNOWN), "42", remember=1)
    emit_login("session signed with an unknown key", {"fallbacks": [OLD]}, {"session": unknown["session"]}, BROWSER)
    emit_login("remember cookie signed with an unknown key", strong, {"remember_token": unknown["remember_token"]}, BROWSER)

    client, before = log_in(app, "42", remember=1)
    client.get("/logout", environ_base={"REMOTE_ADDR": BROWSER["addr"]}, headers={"User-Agent": BROWSER["user_agent"]})
    # Logging out empties the session (Flask then deletes its cookie) and
    # deletes the remember cookie; the token itself stays valid.
    after = jar(client)
    assert "remember_token" not in after, after
    emit_login("after logout", strong, after, BROWSER)
    emit_login("after logout, the old remember cookie replayed", strong, {**after, "remember_token": before["remember_token"]}, BROWSER)

    for user_id in ("alice@example.com", "a b,c;d", "caf\u00e9"):
        _, special = log_in(app, user_id, remember=1)
        emit_login(f"user id {user_id!r}, session", strong, {"session": special["session"]}, BROWSER)
        emit_login(f"user id {user_id!r}, remember cookie", strong, {"remember_token": special["remember_token"]}, BROWSER)

    _, v6 = log_in(app, "42", who=IPV6)
    emit_login("IPv6 client, Latin-1 user agent", strong, v6, IPV6)

    plain_client = app.test_client()
    plain_client.get("/note")
    sessions = [("plain Flask session, no login", jar(plain_client))]
    sessions += [(name, log_in(app, "42", **args)[1]) for name, args in (("tagged values", {"types": 1}), ("compressed", {"big": 1}))]
    for name, cookies in sessions:
        with app.test_request_context(headers={"Cookie": f"session={cookies['session']}"}):
            read = app.session_interface.open_session(app, request)
        emit_login(name, strong, cookies, BROWSER, typed=typed(dict(read)), compressed=cookies["session"].startswith("."))

    for name, environ, headers in (
        ("address and user agent", {"REMOTE_ADDR": "192.0.2.1"}, {"User-Agent": "Mozilla/5.0"}),
        ("no user agent", {"REMOTE_ADDR": "192.0.2.1"}, {}),
        ("quotes and a backslash", {"REMOTE_ADDR": "192.0.2.1"}, {"User-Agent": "it's \"odd\" \\ really"}),
        ("a quote only", {"REMOTE_ADDR": "::1"}, {"User-Agent": "it's"}),
        ("Latin-1 bytes", {"REMOTE_ADDR": "10.0.0.1"}, {"User-Agent": "\xe9\xff\x7f"}),
    ):
        with app.test_request_context(environ_base=environ, headers=headers):
            ident = _create_identifier()
        ua = headers.get("User-Agent")
        print(json.dumps({"case": "identifier", "name": name, "addr": environ["REMOTE_ADDR"], "user_agent": ua, "identifier": ident}))


if __name__ == "__main__":
    main()
