"""The real parts of a deployment for the tests of deploy/ and docs/deploy.md: the `eventflow` command as
installed, app nodes started with `eventflow serve`, a self-signed certificate, and nginx run from
deploy/nginx/eventflow.conf with ports, names and paths of the test's own (no root, no /etc)."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from bench.serving import free_port  # noqa: E402,F401 - one helper for the tests and the benches

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "eventflow.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: the name the browser and the certificate use (Chromium resolves it to 127.0.0.1): not localhost, which
#: browsers treat as a secure origin even over plain HTTP
HOST = "eventflow.test"


def eventflow_command() -> list[str]:
    """The installed `eventflow` script beside this Python (the venv's), run on this checkout's packages."""
    script = Path(sys.executable).parent / "eventflow"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from web.cli import main; main()"]


def app_env(database_url: str, media_dir: Path, **more) -> dict:
    """The environment of an eventflow process of the test: the settings an operator puts in
    /etc/eventflow/eventflow.env (deploy/eventflow.env.example), with this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTFLOW_")}
    env.update(PYTHONPATH=str(ROOT), EVENTFLOW_DATABASE_URL=database_url, EVENTFLOW_MEDIA_DIR=str(media_dir),
               EVENTFLOW_SECRET_KEY=secrets.token_hex(32), EVENTFLOW_SECURE_COOKIES="1",
               EVENTFLOW_SCRYPT_N="1024", **more)
    return env


def run(args: list[str], env: dict, cwd=ROOT) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class AppNode:
    """`eventflow serve --host 127.0.0.1 --port P` as a process; ready when it says it listens on that
    address (Werkzeug's "Running on http://127.0.0.1:P", gunicorn's "Listening at: http://127.0.0.1:P")."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen([*eventflow_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with open(self.log, "w") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                if self.address in line:
                    self.ready.set()
        self.ready.set()   # ended: wait_ready says so

    def wait_ready(self, timeout=60):
        assert self.ready.wait(timeout), f"app node {self.address} did not start: {self.log.read_text()}"
        assert self.process.poll() is None, f"app node {self.address} ended: {self.log.read_text()}"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def self_signed_certificate(where: Path, name: str = HOST) -> tuple[Path, Path]:
    """A certificate for `name` signed by its own key (openssl), valid two days."""
    cert, key = where / "fullchain.pem", where / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def render_site(nodes: list[str], http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/eventflow.conf with the test's own values: the app nodes of the upstream block, the
    ports (on 127.0.0.1, IPv4 only: a test box may have no IPv6) and the redirect's port, the name, the
    certificate and the checkout's static files. Each replaced line must be there: the test fails if the
    file changes under it rather than testing something else."""
    text = SITE.read_text()
    upstream = "\n".join(f"    server {node} max_fails=3 fail_timeout=10s;" for node in nodes)
    replacements = [
        ("    server 127.0.0.1:8000 max_fails=3 fail_timeout=10s;", upstream),
        ("    listen 80;", f"    listen 127.0.0.1:{http_port};"),
        ("    listen [::]:80;\n", ""),
        ("    listen 443 ssl http2;", f"    listen 127.0.0.1:{https_port} ssl http2;"),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("return 301 https://$host$request_uri;", f"return 301 https://$host:{https_port}$request_uri;"),
        ("server_name eventflow.example.org;", f"server_name {HOST};"),
        ("/etc/ssl/eventflow/fullchain.pem", str(cert)),
        ("/etc/ssl/eventflow/privkey.pem", str(key)),
        ("/opt/eventflow/", f"{ROOT}/"),
    ]
    for old, new in replacements:
        assert old in text, f"{SITE.name} no longer has {old!r}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx with the rendered site inside a main configuration of the test's own: its pid file, logs and
    temporary directories under `where`. Started as a daemon, as `systemctl start nginx` does: the command
    returns once the ports are bound."""

    def __init__(self, where: Path, site: str):
        self.where = where
        (where / "logs").mkdir(parents=True, exist_ok=True)
        (where / "site.conf").write_text(site)
        # the workers run as root only when the master does (this box's tests): they read the key and the
        # temporary directories the test made; unprivileged, nginx ignores `user`
        user = "user root root;\n" if os.geteuid() == 0 else ""
        temps = "".join(f"    {kind}_temp_path {where}/{kind}_temp;\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                                   "uwsgi", "scgi"))
        self.conf = where / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes 1;\npid {where}/nginx.pid;\nerror_log {where}/logs/error.log;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    access_log {where}/logs/access.log;\n{temps}"
            f"    include {where}/site.conf;\n}}\n")
        self.args = [NGINX, "-p", str(where), "-c", str(self.conf), "-e", str(where / "logs" / "error.log")]

    def check(self) -> str:
        done = subprocess.run([*self.args, "-t"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def start(self):
        done = subprocess.run(self.args, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr + (self.where / "logs" / "error.log").read_text()

    def stop(self):
        subprocess.run([*self.args, "-s", "stop"], capture_output=True, text=True, timeout=30)
