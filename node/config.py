"""Node configuration: config/default.toml, then a --config file, then VITASCOPE_* variables.

Every key must exist in default.toml, so a typo in an override file is an error rather than a
silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "default.toml"
ENV_PREFIX = "VITASCOPE_"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key."""


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _coerce(key: str, default: Any, value: Any) -> Any:
    """Coerce an override to the type of the default, or fail naming the key."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(default, list):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _merge(base: dict[str, Any], override: dict[str, Any], origin: str) -> None:
    for section, values in override.items():
        if section not in base or not isinstance(values, dict):
            raise ConfigError(f"{section}: unknown config section (in {origin})")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{section}.{key}: unknown config key (in {origin})")
            base[section][key] = _coerce(f"{section}.{key}", base[section][key], value)


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for section in raw:
            if rest.startswith(section + "_") and rest[len(section) + 1:] in raw[section]:
                key = rest[len(section) + 1:]
                raw[section][key] = _coerce(f"{section}.{key}", raw[section][key], value)
                break
        else:
            if rest not in ("config", "test_db"):
                raise ConfigError(f"{name}: environment variable names no config key")


def is_loopback_host(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Config:
    """Validated, read-only settings. `raw` keeps every section for the parts that need more."""

    raw: dict[str, Any]
    base_url: str
    domain: str
    data_dir: Path
    media_dir: Path
    database_url: str
    redis_url: str
    dev_mode: bool

    def __getitem__(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return self.raw[section][key]

    @property
    def host(self) -> str:
        return self.raw["server"]["host"]

    @property
    def port(self) -> int:
        return self.raw["server"]["port"]

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url


def _validate_storage(storage: dict[str, Any], job_timeout: int) -> None:
    if storage["backend"] not in ("local", "s3"):
        raise ConfigError(f"storage.backend: must be local or s3, got {storage['backend']!r}")
    for key in ("s3_endpoint", "s3_public_base_url"):
        value = storage[key]
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
            raise ConfigError(f"storage.{key}: must be an http(s):// URL, got {value!r}")
    if not job_timeout <= storage["s3_presign_seconds"] <= 604800:
        raise ConfigError("storage.s3_presign_seconds: must be at least generation.job_timeout_seconds "
                          "and at most 604800 (7 days, the longest an S3 presigned URL lives)")
    if storage["backend"] == "s3":
        for key in ("s3_bucket", "s3_region", "s3_access_key_id", "s3_secret_access_key"):
            if not storage[key]:
                raise ConfigError(f"storage.{key}: needed when storage.backend is s3")


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None,
                overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    environ = dict(os.environ if environ is None else environ)
    raw = _load_toml(DEFAULT_FILE)
    path = path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        _merge(raw, _load_toml(Path(path)), str(path))
    _apply_env(raw, environ)
    if overrides:
        _merge(raw, overrides, "overrides")
    return _validate(raw)


def _validate(raw: dict[str, Any]) -> Config:
    server = raw["server"]
    if not 1 <= server["port"] <= 65535:
        raise ConfigError("server.port: must be between 1 and 65535")
    base_url = server["base_url"].rstrip("/") or f"http://{server['host']}:{server['port']}"
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ConfigError(f"server.base_url: must be scheme://host[:port] with no path, got {base_url!r}")
    domain = parts.netloc.lower()
    if server["keepalive_timeout_seconds"] <= 0:
        raise ConfigError("server.keepalive_timeout_seconds: must be positive")
    if server["event_loop"] not in ("uvloop", "asyncio"):
        raise ConfigError(f"server.event_loop: must be uvloop or asyncio, got {server['event_loop']!r}")

    dev = raw["federation"]["dev_mode"]
    if dev not in ("auto", "true", "false"):
        raise ConfigError(f"federation.dev_mode: must be auto, true or false, got {dev!r}")
    dev_mode = is_loopback_host(parts.hostname) if dev == "auto" else dev == "true"
    if parts.scheme == "http" and not dev_mode:
        raise ConfigError("server.base_url: http:// is only allowed in dev mode; production requires https")

    mode = raw["registration"]["mode"]
    if mode not in ("open", "approval", "closed"):
        raise ConfigError(f"registration.mode: must be open, approval or closed, got {mode!r}")
    parental = raw["parental"]
    for key in ("min_age", "adult_age", "daily_feed_videos", "generations_per_day"):
        if parental[key] < 0:
            raise ConfigError(f"parental.{key}: must be zero or more")
    if parental["min_age"] > parental["adult_age"]:
        raise ConfigError("parental.min_age: must not be above parental.adult_age")
    for key in ("direct_messages", "cameo"):
        if parental[key] not in ("nobody", "mutuals", "everyone"):
            raise ConfigError(f"parental.{key}: must be nobody, mutuals or everyone, got {parental[key]!r}")
    for key, value in raw["limits"].items():
        if value <= 0:
            raise ConfigError(f"limits.{key}: must be positive")
    for key in ("fetch_timeout_seconds", "max_fetch_bytes", "delivery_concurrency", "signature_max_skew_seconds",
                "context_fetch_per_host", "sweep_seconds"):
        if raw["federation"][key] <= 0:
            raise ConfigError(f"federation.{key}: must be positive")
    # Zero turns the thread or replies fetch off (a zero cooldown: fetched on every view; a zero initial
    # wait: new posts too; a zero delivery retention: rows kept forever).
    for key in ("max_thread_fetch_depth", "replies_fetch_max_pages", "replies_fetch_max_items",
                "replies_fetch_max_total", "replies_fetch_max_total_pages", "replies_fetch_cooldown_seconds",
                "replies_fetch_initial_wait_seconds", "delivery_retention_days"):
        if raw["federation"][key] < 0:
            raise ConfigError(f"federation.{key}: must be zero or more")
    gen = raw["generation"]
    if gen["family"] not in ("ltx2", "ltx"):
        raise ConfigError(f"generation.family: must be ltx2 or ltx, got {gen['family']!r}")
    if gen["free_per_day"] < 0:
        raise ConfigError("generation.free_per_day: must be zero or more")
    for key in ("max_batch", "max_active_per_user", "job_timeout_seconds"):
        if gen[key] < 1:
            raise ConfigError(f"generation.{key}: must be at least 1")
    if gen["dtype"] not in ("float32", "bfloat16", "float16"):
        raise ConfigError(f"generation.dtype: must be float32, bfloat16 or float16, got {gen['dtype']!r}")
    for path in [*gen["cameo_verifiers"], *([gen["voice_stage"]] if gen["voice_stage"] else [])]:
        module, _, function = path.partition(":")
        if not module or not function:
            raise ConfigError(f"generation: {path!r} is not a 'package.module:function' path")
    if gen["voice_stage"] == "generation.voice:run_command" and not gen["voice_command"]:
        raise ConfigError("generation.voice_command: the run_command voice stage needs a command")
    for key in ("show_domain_blocks", "show_domain_blocks_rationale"):
        if raw["moderation"][key] not in ("disabled", "users", "all"):
            raise ConfigError(f"moderation.{key}: must be disabled, users or all, got {raw['moderation'][key]!r}")
    if raw["provenance"]["unverified_media"] not in ("refuse", "mark"):
        raise ConfigError("provenance.unverified_media: must be refuse or mark")
    if raw["provenance"]["cameo_grant_recheck_seconds"] < 1:
        raise ConfigError("provenance.cameo_grant_recheck_seconds: must be at least 1")

    for key in ("private_media_url_seconds", "federated_private_media_url_seconds"):
        if raw["storage"][key] < 60:
            raise ConfigError(f"storage.{key}: must be at least 60")
    _validate_storage(raw["storage"], raw["generation"]["job_timeout_seconds"])

    fy = raw["for_you"]
    for key in ("window_days", "max_candidates", "snapshot_seconds", "freshness_half_life_hours"):
        if fy[key] <= 0:
            raise ConfigError(f"for_you.{key}: must be positive")
    if fy["max_candidates"] > 5000:
        raise ConfigError("for_you.max_candidates: must be at most 5000 (the ranking scores every candidate per request)")
    for key, value in fy.items():
        if not math.isfinite(value):
            raise ConfigError(f"for_you.{key}: must be a finite number")

    data_dir = Path(raw["storage"]["data_dir"]).expanduser().resolve()
    media_dir = Path(raw["storage"]["media_dir"] or data_dir / "media").expanduser().resolve()
    db_url = raw["database"]["url"] or f"sqlite://{data_dir / 'vitascope.sqlite3'}"
    if not db_url.startswith(("sqlite://", "postgres://", "postgresql://", "psycopg://", "asyncpg://")):
        raise ConfigError(f"database.url: must be a sqlite:// or postgres:// URL, got {db_url!r}")
    if not 1 <= server["processes"] <= 64:  # each gets its own 6 bits in new ids (node.ids)
        raise ConfigError("server.processes: must be between 1 and 64")
    if server["processes"] > 1 and db_url.startswith("sqlite://"):
        raise ConfigError("server.processes: more than one web process needs PostgreSQL (database.url); "
                          "the embedded SQLite database takes one writer at a time")
    redis_url = raw["redis"]["url"]
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"redis.url: must be a redis://, rediss:// or unix:// URL, got {redis_url!r}")
    return Config(raw=raw, base_url=base_url, domain=domain, data_dir=data_dir, media_dir=media_dir,
                  database_url=db_url, redis_url=redis_url, dev_mode=dev_mode)
