"""Logins kept server-side by the real Flask-Session (0.8, Redis), judged by
the real Flask-Login, for tests/flask_session_oracle.rs.

    REDIS_URL=redis://127.0.0.1:6379 KEY_PREFIX=some-unique-prefix: python session_cases.py

Prints one JSON object per line, as oracle_cases.py does: the `Cookie`
header, the client, the settings (`signed`: SESSION_USE_SIGNER), and
Flask-Login's verdict; `typed` where the stored session is compared too.
Flask-Session's sessions are permanent by default, so Flask-Login's strong
protection treats a moved one as "basic" does: signed in, not fresh. The
sessions stay in Redis under KEY_PREFIX for the Rust side to read (the
test deletes them afterwards).
"""

import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_cases  # noqa: E402  (also fixes time.time at NOW)
from oracle_cases import BROWSER, OTHER_IP, tamper, typed  # noqa: E402

import redis  # noqa: E402
from flask import request  # noqa: E402

warnings.simplefilter("ignore", DeprecationWarning)  # SESSION_USE_SIGNER is deprecated in 0.8, still supported


def make_app(signed, fmt="msgpack"):
    """oracle_cases.py's app (its routes, strong protection), its sessions
    kept by Flask-Session in Redis."""
    return oracle_cases.make_app(
        server_side={
            "SESSION_TYPE": "redis",
            "SESSION_REDIS": redis.from_url(os.environ["REDIS_URL"]),
            "SESSION_KEY_PREFIX": os.environ["KEY_PREFIX"],
            "SESSION_USE_SIGNER": signed,
            "SESSION_SERIALIZATION_FORMAT": fmt,
        }
    )


def emit(name, signed, cookies, who, fmt="msgpack", **extra):
    header, verdict = oracle_cases.judge(make_app(signed, fmt), cookies, who)
    settings = {"signed": signed, "format": fmt}
    print(json.dumps({"name": name, "settings": settings, "cookie_header": header, "client": who, "flask": verdict, **extra}))


def main():
    for signed, fmt in ((False, "msgpack"), (True, "msgpack"), (False, "json")):
        kind = ("signed id" if signed else "plain id") + ("" if fmt == "msgpack" else ", JSON")
        app = make_app(signed, fmt)
        # Judging a request can change the stored session (a moved one is
        # marked not fresh, in Redis): one login per case.
        _, plain = oracle_cases.log_in(app, "42")
        emit(f"{kind}: session, same client", signed, plain, BROWSER, fmt)
        _, moved = oracle_cases.log_in(app, "42")
        emit(f"{kind}: session, another address", signed, moved, OTHER_IP, fmt)
        emit(f"{kind}: unknown id", signed, {"session": tamper(plain["session"])}, BROWSER, fmt)
        _, remembered = oracle_cases.log_in(app, "42", remember=1)
        emit(f"{kind}: unknown id, valid remember cookie", signed, {"session": tamper(remembered["session"]), "remember_token": remembered["remember_token"]}, BROWSER, fmt)
        client, before = oracle_cases.log_in(app, "43")
        client.get("/logout", environ_base={"REMOTE_ADDR": BROWSER["addr"]}, headers={"User-Agent": BROWSER["user_agent"]})
        emit(f"{kind}: the id of a logged-out session replayed", signed, before, BROWSER, fmt)
        _, typed_login = oracle_cases.log_in(app, "44", types=2)
        sid = typed_login["session"]
        with app.test_request_context(headers={"Cookie": f"session={sid}"}):
            read = app.session_interface.open_session(app, request)
        emit(f"{kind}: tagged values", signed, typed_login, BROWSER, fmt, typed=typed(dict(read)))


if __name__ == "__main__":
    main()
