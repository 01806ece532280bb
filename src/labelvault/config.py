"""Settings: the only place that reads the environment."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name


class Settings(BaseSettings):
    """Every setting of labelvault; each is read from `LABELVAULT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="LABELVAULT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./labelvault-data"),
        description="Directory for the SQLite file, the secret key, uploads and job files.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means a SQLite file `labelvault.db` inside the data directory. "
        "For PostgreSQL: postgresql+psycopg://user@host:5432/dbname.",
    )
    media_dir: Path | None = Field(
        default=None, description="Directory of the media store (images). Defaults to `<data_dir>/media`."
    )
    key_dir: Path | None = Field(
        default=None, description="Directory of the key-encryption keys (`kek-*.key`, mode 0600) that wrap the "
        "data keys of encrypted content. Defaults to `<data_dir>/keys`; keep it out of database backups.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the server, used in invitation links.",
    )
    blob_store: Literal["local", "s3"] = Field(
        default="local", description="Where uploads and media live: `local` (directories) or `s3`."
    )
    s3_bucket: str = Field(default="", description="S3 bucket (blob_store=s3).")
    s3_prefix: str = Field(default="labelvault", description="Key prefix inside the bucket.")
    s3_endpoint_url: str = Field(default="", description="Endpoint of an S3-compatible store (MinIO, Ceph).")
    s3_region: str = Field(default="", description="S3 region.")
    s3_access_key_id: str = Field(default="", description="S3 access key id (empty: the usual AWS chain).")
    s3_secret_access_key: str = Field(default="", description="S3 secret access key.")
    max_page_size: int = Field(default=500, description="Largest page a list endpoint returns.")
    default_page_size: int = Field(default=100, description="Page size when the client names none.")
    max_import_bytes: int = Field(
        default=4 * 1024**3, description="Largest import file accepted, in bytes."
    )
    max_line_bytes: int = Field(
        default=1024 * 1024, description="Largest single line (or JSON array element) of an import, in bytes."
    )
    max_media_bytes: int = Field(default=50 * 1024**2, description="Largest media upload, in bytes.")
    import_batch_size: int = Field(default=2000, description="Items per atomic import batch.")
    lease_seconds: int = Field(default=1800, description="Default lease time to live, in seconds.")
    token_ttl_days: int = Field(default=0, description="Default API token lifetime in days; 0 = no expiry.")
    session_ttl_hours: int = Field(default=12, description="Browser session lifetime in hours.")
    invitation_ttl_hours: int = Field(default=72, description="How long an invitation link stays valid.")
    smtp_host: str = Field(default="", description="SMTP server for invitation e-mails; empty = links only.")
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_user: str = Field(default="", description="SMTP user name.")
    smtp_password: str = Field(default="", description="SMTP password.")
    smtp_from: str = Field(default="", description="Sender address of invitation e-mails.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    run_jobs: bool = Field(
        default=True, description="Run a background job worker inside each server process."
    )
    loop_threads: int = Field(
        default=4, ge=1,
        description="Worker threads per server process for the labeling loop (next item, submit); more requests wait.",
    )
    warm_up: bool = Field(
        default=True,
        description="Rehearse the labeling loop (next item, submit) on the loop's database connections when a server "
                    "process starts, in a transaction rolled back, so that its first requests are as fast as later "
                    "ones.",
    )
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry traces, metrics and logs, sent to the providers the process configures "
                    "(the OpenTelemetry SDK's settings); off, no request pays for checking whether any is configured.",
    )
    express_routes: bool = Field(
        default=True,
        description="Answer the labeling loop's routes (next item, submit) below FastAPI's routing layer, with the "
                    "same answers and less CPU; off, FastAPI serves them like every other route.",
    )
    job_poll_seconds: float = Field(default=0.5, description="How often an idle job worker looks for work.")
    job_stale_seconds: int = Field(
        default=60, description="A running job whose worker stopped heartbeating this long is taken over."
    )
    ledger_seal_seconds: float = Field(
        default=1.0, description="How often the ledger sealer chains new access entries, in seconds."
    )
    ledger_checkpoint_entries: int = Field(
        default=10000, description="Sign a ledger checkpoint after this many newly chained entries."
    )
    ledger_checkpoint_seconds: float = Field(
        default=300.0, description="Sign a ledger checkpoint at least this often (when entries were added)."
    )
    login_max_failures: int = Field(
        default=5, description="Failed sign-ins for one e-mail address within the window before it is locked."
    )
    login_max_failures_per_address: int = Field(
        default=50, description="Failed sign-ins from one client address within the window before it is locked."
    )
    login_window_seconds: int = Field(default=900, description="Window in which failed sign-ins are counted.")
    login_lockout_seconds: int = Field(default=900, description="How long a locked e-mail or address must wait.")
    log_level: str = Field(default="INFO", description="Log level of the JSON logs on stderr.")
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set when served over https)."
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labelvault.db').resolve()}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def resolved_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @cached_property
    def secret_key(self) -> bytes:
        """The instance secret, made with a secure RNG on first use and kept with mode 0600."""
        return load_or_create_secret_key(self.data_dir)


def load_or_create_secret_key(data_dir: Path) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key
