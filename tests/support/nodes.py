"""Live Vitascope nodes as real processes (`vitascope serve`), driven over HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import tomli_w

from tests.support.servers import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]


class LiveNode:
    def __init__(self, directory: Path, *, database_url: str | None, redis_url: str | None, name: str = "node",
                 overrides: dict | None = None):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.name = name
        self.database_url = database_url
        config = {
            "server": {"host": "127.0.0.1", "port": self.port, "name": name},
            "storage": {"data_dir": str(directory / "data")},
            "database": {"url": database_url or ""},
            "redis": {"url": redis_url or ""},
            "limits": {"rate_limit_per_minute": 100000},
            "generation": {"embedded_worker": False},
        }
        for section, values in (overrides or {}).items():
            config.setdefault(section, {}).update(values)
        self.config_path = directory / "vitascope.toml"
        self.config_path.write_text(tomli_w.dumps(config))
        self.data_dir = directory / "data"
        self.redis_url = redis_url or f"unix://{self.data_dir / 'redis' / 'redis.sock'}"
        self.log_path = directory / "node.log"
        self.process: subprocess.Popen | None = None
        self.redis_server: RedisServer | None = None  # the external one the test session started for it

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VITASCOPE_")}
        env["PYTHONPATH"] = str(ROOT)
        return env

    def start(self, timeout: float = 60) -> "LiveNode":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "node.cli", "--config", str(self.config_path), "serve"],
                                        cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                        start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/api/v1/instance", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def row_counts(self) -> dict[str, int]:
        """Rows per table of the node's database, read directly (SQLite or PostgreSQL)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url.replace("postgres://", "postgresql://", 1)) as db:
                tables = [r[0] for r in db.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
                return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        import sqlite3

        db = sqlite3.connect(f"file:{self.data_dir / 'vitascope.sqlite3'}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            db.close()

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "node.cli", "--config", str(self.config_path), *args],
                                cwd=self.directory, capture_output=True, text=True, env=self.env(), timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"vitascope {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def create_user(self, username: str | None = None, password: str = "correct horse battery",
                    admin: bool = False) -> tuple[str, str]:
        """Admins through the CLI; everyone else through the registration API (faster)."""
        username = username or "u" + uuid.uuid4().hex[:10]
        if admin:
            self.cli("admin", "create-user", username, "--password", password, "--admin")
            return username, password
        if not hasattr(self, "_app_token"):
            cid, secret = self.register_app("read write")
            self._app_token = requests.post(self.url + "/oauth/token", data={
                "grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
                "scope": "read write"}).json()["access_token"]
        r = requests.post(self.url + "/api/v1/accounts", headers={"Authorization": f"Bearer {self._app_token}"},
                          data={"username": username, "password": password, "agreement": "true",
                                "email": f"{username}@example.com"})
        r.raise_for_status()
        return username, password

    def register_app(self, scopes: str = "read write follow push") -> tuple[str, str]:
        r = requests.post(self.url + "/api/v1/apps", data={"client_name": "tests", "scopes": scopes,
                                                           "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
        r.raise_for_status()
        return r.json()["client_id"], r.json()["client_secret"]

    def token(self, username: str, password: str = "correct horse battery", scopes: str = "read write follow push") -> str:
        cid, secret = self.register_app(scopes)
        r = requests.post(self.url + "/oauth/token", data={"grant_type": "password", "client_id": cid,
                                                           "client_secret": secret, "username": username,
                                                           "password": password, "scope": scopes})
        r.raise_for_status()
        return r.json()["access_token"]

    def mastodon(self, username: str | None = None, password: str = "correct horse battery",
                 scopes: tuple[str, ...] = ("read", "write", "follow", "push")):
        """A real Mastodon.py client logged in with the password grant."""
        from mastodon import Mastodon

        if username is None:
            username, password = self.create_user()
        cid, secret = Mastodon.create_app("vitascope-tests", scopes=list(scopes), api_base_url=self.url)
        client = Mastodon(client_id=cid, client_secret=secret, api_base_url=self.url)
        client.log_in(username=username, password=password, scopes=list(scopes), allow_http=True)
        client.vs_username = username
        return client

    def admin_mastodon(self, scopes: tuple[str, ...] = ("read", "write", "admin:read", "admin:write")):
        """A Mastodon.py client of a new admin, with its account id as ``vs_id``."""
        username, password = self.create_user(admin=True)
        client = self.mastodon(username, password, scopes=scopes)
        client.vs_id = str(client.me()["id"])
        return client

    def api(self, token: str | None = None) -> "Api":
        return Api(self.url, token)

    def start_worker(self, name: str = "test-worker", *, models: Path | None = None, timeout: float = 120) -> "Worker":
        """`vitascope worker` for this node as its own process, ready once it polls the queue.
        `models`: a data dir whose prebuilt tiny models are copied in, so the worker need not build them."""
        if models is not None:
            for built in (models / "models").iterdir():
                target = self.data_dir / "models" / built.name
                if not target.exists():
                    shutil.copytree(built, target)
        return Worker(self, name).wait_ready(timeout)


class Api:
    """Raw HTTP access for what a client library hides (status codes, malformed bodies)."""

    def __init__(self, base: str, token: str | None):
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kw)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw):
        return self.request("DELETE", path, **kw)


class Worker:
    """A `vitascope worker` process of a LiveNode (the generation worker, with the node's config)."""

    def __init__(self, node: LiveNode, name: str):
        self.node = node
        self.name = name
        self.log_path = node.directory / f"worker-{name}.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "node.cli", "--config", str(node.config_path), "worker",
                                         "--name", name], cwd=node.directory, stdout=log, stderr=subprocess.STDOUT,
                                        env=node.env(), start_new_session=True)

    def wait_ready(self, timeout: float) -> "Worker":
        """Ready once arq wrote the worker's health-check key: the model is loaded and it polls."""
        import redis

        client = redis.Redis.from_url(self.node.redis_url)
        deadline = time.time() + timeout
        try:
            while not client.exists(f"vitascope:gen:health:{self.name}"):
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"worker {self.name} did not start:\n{self.log()}")
                time.sleep(0.1)
        finally:
            client.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: nothing in the worker gets to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class NodeFactory:
    """Starts nodes, each with its own database and its own real Redis server."""

    def __init__(self, base: Path, postgres: PostgresServer | None):
        self.base = base
        self.postgres = postgres
        self.started: list[LiveNode] = []
        self.redis: list[RedisServer] = []
        self.count = 0

    def __call__(self, name: str | None = None, *, overrides: dict | None = None, embedded_redis: bool = False,
                 start: bool = True) -> LiveNode:
        self.count += 1
        name = name or f"node{self.count}"
        directory = self.base / f"{name}-{self.count}"
        redis_url = None
        if not embedded_redis:
            server = RedisServer(directory / "redis-ext")
            self.redis.append(server)
            redis_url = server.url
        db_url = self.postgres.create_database(f"{name}_{self.count}".replace("-", "_")) if self.postgres else None
        node = LiveNode(directory, database_url=db_url, redis_url=redis_url, name=name, overrides=overrides)
        node.redis_server = None if embedded_redis else self.redis[-1]
        self.started.append(node)
        return node.start() if start else node

    def close(self) -> None:
        for node in self.started:
            node.stop()
        for server in self.redis:
            server.stop()
