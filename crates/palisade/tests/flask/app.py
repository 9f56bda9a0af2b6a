"""A small Flask app with Flask-Login, served on loopback for
tests/flask_live.rs and the demo's browser test of the Flask bridge.

    python app.py [--port N]

Prints `PORT <n>` once it listens on 127.0.0.1. Users sign in with any name
and the password `pw-<name>`; "remember me" sets Flask-Login's remember
cookie. The secret keys come from FLASK_SECRET_KEY and, optionally,
FLASK_SECRET_KEY_FALLBACK; session protection is "strong". With
FLASK_SESSION_REDIS (a redis:// URL) and FLASK_SESSION_PREFIX, sessions
are kept server-side by Flask-Session.
"""

import html
import logging
import os
import sys

from flask import Flask, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_fresh, login_user, logout_user
from werkzeug.serving import make_server


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


app = Flask(__name__)
app.secret_key = os.environ["FLASK_SECRET_KEY"]
if fallback := os.environ.get("FLASK_SECRET_KEY_FALLBACK"):
    app.config["SECRET_KEY_FALLBACKS"] = [fallback]
if redis_url := os.environ.get("FLASK_SESSION_REDIS"):
    import redis
    from flask_session import Session

    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.from_url(redis_url),
        SESSION_KEY_PREFIX=os.environ["FLASK_SESSION_PREFIX"],
    )
    Session(app)
manager = LoginManager(app)
manager.session_protection = "strong"
manager.login_view = "login"
manager.user_loader(User)


def page(title, body):
    return f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


@app.get("/")
def home():
    if current_user.is_authenticated:
        fresh = "fresh" if login_fresh() else "not fresh"
        who = f'<p id="who">Signed in to Flask as {html.escape(current_user.get_id())} ({fresh})</p>'
        return page("Flask", who + '<form method="post" action="/logout"><button id="logout">Log out</button></form>')
    return page("Flask", '<p id="who">Not signed in to Flask</p><a href="/login">Log in</a>')


@app.get("/login")
def login_form():
    nxt = html.escape(request.args.get("next", "/"), quote=True)
    return page(
        "Flask login",
        f"""<form method="post" action="/login">
        <input type="hidden" name="next" value="{nxt}">
        <label>Name <input id="name" name="name"></label>
        <label>Password <input id="password" name="password" type="password"></label>
        <label><input id="remember" name="remember" type="checkbox" value="1"> Remember me</label>
        <button id="submit">Log in</button></form>""",
    )


@app.post("/login")
def login():
    name = request.form.get("name", "")
    if not name or request.form.get("password") != f"pw-{name}":
        return page("Flask login", "<p>Wrong name or password</p>"), 401
    login_user(User(name), remember=request.form.get("remember") == "1")
    if request.form.get("big") == "1":
        session["notes"] = ["note %d" % i for i in range(80)]
    nxt = request.form.get("next", "/")
    # Only a local path: never an open redirect.
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")


@app.post("/logout")
def logout():
    logout_user()
    return redirect("/")


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log in the test output
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"PORT {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
