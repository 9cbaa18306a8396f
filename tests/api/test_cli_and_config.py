"""The `vitascope` command, configuration errors and the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.nodes import ROOT
from tests.support.servers import free_port


def run(args, cwd, env=None, timeout=120):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VITASCOPE_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def test_bad_config_value_names_the_key(tmp_path):
    (tmp_path / "bad.toml").write_text('[server]\nport = "eighty"\n')
    result = run(["--config", "bad.toml", "migrate"], tmp_path)
    assert result.returncode == 2 and "server.port" in result.stderr
    (tmp_path / "typo.toml").write_text('[registration]\nmdoe = "open"\n')
    result = run(["--config", "typo.toml", "migrate"], tmp_path)
    assert result.returncode == 2 and "registration.mdoe" in result.stderr
    result = run(["migrate"], tmp_path, env={"VITASCOPE_REGISTRATION_MODE": "sometimes"})
    assert result.returncode == 2 and "registration.mode" in result.stderr
    result = run(["migrate"], tmp_path, env={"VITASCOPE_FEDERATION_DELIVERY_RETENTION_DAYS": "-1"})
    assert result.returncode == 2 and "federation.delivery_retention_days: must be zero or more" in result.stderr
    result = run(["migrate"], tmp_path, env={"VITASCOPE_SERVER_BASE_URL": "http://video.example.com"})
    assert result.returncode == 2 and "server.base_url" in result.stderr and "https" in result.stderr
    for name, key in (("VITASCOPE_LIMITS_BODY_IDLE_TIMEOUT_SECONDS", "limits.body_idle_timeout_seconds"),
                      ("VITASCOPE_LIMITS_MAX_CONCURRENT_UPLOADS", "limits.max_concurrent_uploads"),
                      ("VITASCOPE_SERVER_KEEPALIVE_TIMEOUT_SECONDS", "server.keepalive_timeout_seconds"),
                      ("VITASCOPE_FEDERATION_SWEEP_SECONDS", "federation.sweep_seconds")):
        result = run(["migrate"], tmp_path, env={name: "0"})
        assert result.returncode == 2 and key in result.stderr and "positive" in result.stderr
    # Object storage: a known backend, URLs that are URLs, and the bucket and credentials it needs.
    for env, key in (({"VITASCOPE_STORAGE_BACKEND": "nfs"}, "storage.backend"),
                     ({"VITASCOPE_STORAGE_BACKEND": "s3"}, "storage.s3_bucket"),
                     ({"VITASCOPE_STORAGE_BACKEND": "s3", "VITASCOPE_STORAGE_S3_BUCKET": "media"},
                      "storage.s3_access_key_id"),
                     ({"VITASCOPE_STORAGE_S3_ENDPOINT": "minio:9000"}, "storage.s3_endpoint"),
                     ({"VITASCOPE_STORAGE_S3_PUBLIC_BASE_URL": "ftp://cdn"}, "storage.s3_public_base_url"),
                     # Presigned job URLs must outlive a job's run, and S3 signs for 7 days at most.
                     ({"VITASCOPE_STORAGE_S3_PRESIGN_SECONDS": "599"}, "storage.s3_presign_seconds"),
                     ({"VITASCOPE_STORAGE_S3_PRESIGN_SECONDS": "604801"}, "storage.s3_presign_seconds")):
        result = run(["migrate"], tmp_path, env=env)
        assert result.returncode == 2 and key in result.stderr, (env, result.stderr)


def test_admin_create_and_list_users(node):
    name, _ = node.create_user(admin=True)
    listing = node.cli("admin", "list-users").stdout
    line = next(line for line in listing.splitlines() if f" {name} " in line)
    assert "yes" in line.split(name, 1)[1]
    duplicate = node.cli("admin", "create-user", name, "--password", "another password", check=False)
    assert duplicate.returncode == 1 and "taken" in duplicate.stderr
    # the admin can log in with a real client
    client = node.mastodon(name)
    assert client.account_verify_credentials()["role"]["name"] == "Admin"


def test_embedded_default_serves_with_no_configuration(tmp_path):
    """`vitascope serve` with nothing configured: SQLite + a Redis the node starts itself."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITASCOPE_")}
    env.update(PYTHONPATH=str(ROOT), VITASCOPE_GENERATION_EMBEDDED_WORKER="false")
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "node.cli", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while time.time() - started < 30:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/v1/instance", timeout=1)
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert r.json()["uri"] == f"127.0.0.1:{port}"
        data = tmp_path / "data"
        assert (data / "vitascope.sqlite3").exists()
        assert (data / "redis" / "redis.sock").exists()
        assert (data / "identity").is_dir()
        pidfile = data / "redis" / "redis.pid"
        redis_pid = int(pidfile.read_text())
        # the node supervises its Redis: kill it and it comes back
        os.kill(redis_pid, 9)
        deadline = time.time() + 15
        while time.time() < deadline:
            if pidfile.exists() and pidfile.read_text().strip() and int(pidfile.read_text()) != redis_pid:
                break
            time.sleep(0.2)
        new_pid = int(pidfile.read_text())
        assert new_pid != redis_pid
        deadline = time.time() + 15
        while not _answers(data / "redis" / "redis.sock"):  # started is not yet serving
            assert time.time() < deadline, "the embedded Redis did not come back"
            time.sleep(0.1)
        assert requests.post(f"http://127.0.0.1:{port}/api/v1/apps", data={"client_name": "x",
                             "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(15)
    # and the node stops its Redis on shutdown
    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{new_pid}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{new_pid}").exists()


def _answers(socket_path: Path) -> bool:
    import redis

    try:
        with redis.Redis(unix_socket_path=str(socket_path)) as client:
            return bool(client.ping())
    except (OSError, redis.RedisError):
        return False


def test_web_process_does_not_import_generation_stack():
    code = ("import sys, node.app, node.cli; "  # the worker's contract (stdlib only) is the one part it may import
            "print(','.join(m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'transformers', "
            "'generation') and m not in ('generation', 'generation.contract')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_import_layers_hold():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_registration_by_approval(nodes):
    import requests

    gated = nodes("gated", overrides={"registration": {"mode": "approval"}})
    admin_name, admin_pw = gated.create_user(admin=True)
    admin = gated.mastodon(admin_name, admin_pw)
    cid, secret = gated.register_app("read write")
    app_token = requests.post(gated.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                                "client_secret": secret, "scope": "read write"}).json()["access_token"]
    r = requests.post(gated.url + "/api/v1/accounts", headers={"Authorization": f"Bearer {app_token}"},
                      data={"username": "waiting", "password": "long enough pw", "agreement": "1"})
    assert r.status_code == 200
    pending = gated.api(r.json()["access_token"]).get("/api/v1/accounts/verify_credentials")
    assert pending.status_code == 403
    assert admin.notifications(types=["admin.sign_up"])[0]["account"]["username"] == "waiting"
    unknown = gated.cli("admin", "approve-user", "nobody", check=False)
    assert unknown.returncode != 0 and "no local user nobody" in unknown.stderr
    assert gated.api(r.json()["access_token"]).get("/api/v1/accounts/verify_credentials").status_code == 403
    assert "approved WAITING" in gated.cli("admin", "approve-user", "WAITING").stdout
    assert gated.api(r.json()["access_token"]).get("/api/v1/accounts/verify_credentials").status_code == 200
    closed = nodes("closed", overrides={"registration": {"mode": "closed"}})
    cid, secret = closed.register_app("read write")
    token = requests.post(closed.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                             "client_secret": secret, "scope": "read write"}).json()["access_token"]
    r = requests.post(closed.url + "/api/v1/accounts", headers={"Authorization": f"Bearer {token}"},
                      data={"username": "nope", "password": "long enough pw", "agreement": "1"})
    assert r.status_code == 403 and "closed" in r.json()["error"]


def test_embedded_redis_does_not_outlive_a_killed_node(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITASCOPE_")}
    env.update(PYTHONPATH=str(ROOT), VITASCOPE_GENERATION_EMBEDDED_WORKER="false")
    proc = subprocess.Popen([sys.executable, "-m", "node.cli", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pidfile = tmp_path / "data" / "redis" / "redis.pid"
    deadline = time.time() + 30
    while time.time() < deadline and not pidfile.exists():
        time.sleep(0.1)
    redis_pid = int(pidfile.read_text())
    proc.kill()
    proc.wait(10)
    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{redis_pid}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{redis_pid}").exists()
