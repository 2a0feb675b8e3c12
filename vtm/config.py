"""Settings: one validated object, read once at start-up and passed in.

Sources, later ones winning: defaults, an optional ``.env``-style file named by ``VTM_ENV_FILE``
(or passed to :func:`load_settings`), environment variables ``VTM_*``.

Usage::

    settings = load_settings()
    bank_db = settings.bank_database_url
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigError", "Settings", "load_settings"]


class ConfigError(Exception):
    """The configuration is invalid; the message names the source and the field."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("vtm", appauthor=False))


class Settings(BaseSettings):
    """Everything the kiosk reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="VTM_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=_default_data_dir, description="SQLite files, audio, outputs.")
    bank_database_url: str | None = Field(
        default=None, description="Sandbox bank database; default SQLite file in data_dir. postgresql+psycopg://..."
    )
    records_database_url: str | None = Field(
        default=None, description="Session records and audit chain; default SQLite file in data_dir."
    )
    bank_url: str | None = Field(
        default=None, description="If set, talk to a core bank over HTTP instead of the in-process sandbox."
    )
    bank_timeout_s: float = Field(default=5.0, gt=0, le=120)
    bank_api_key: str | None = Field(
        default=None,
        repr=False,
        description="Key (hex, >= 16 bytes) that signs core-bank API requests as kiosk `kiosk_id`, on the kiosk "
        "and on `vtm bank serve`; default: the key file keys_dir/bank_api.key.",
    )
    bank_api_kiosks: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='`vtm bank serve`: further kiosks and their hex keys, JSON {"VTM-0002": "ab12..."}.',
    )
    bank_api_kiosk_scopes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="`vtm bank serve`: limit a kiosk to these route groups (identity, cards, accounts, "
        "transfers, records, service); a kiosk not named may call every route.",
    )
    kiosk_id: str = Field(default="VTM-0001", min_length=1, max_length=64)
    language: Literal["zh", "en"] = "zh"
    content_dir: Path | None = Field(
        default=None, description="Folder holding dialogs/, transactions/ and compliance/ (default: the repo)."
    )
    models_dir: Path | None = Field(default=None, description="Prepared models; default data_dir/models.")
    retention_days: int = Field(default=180, ge=1, le=3650)
    audit_key: str | None = Field(
        default=None,
        repr=False,
        description="Audit sealing key (hex, >= 16 bytes); default: the key file keys_dir/audit.key.",
    )
    audit_anchor_dir: Path | None = Field(
        default=None,
        description="Append-only audit anchors; default data_dir/audit-anchors. Production: WORM or another host.",
    )
    audit_anchor_every: int = Field(default=50, ge=1, le=100_000, description="Anchor the chain head every N entries.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("bank_database_url", "records_database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    # Derived locations ---------------------------------------------------------------------
    @property
    def bank_db_url(self) -> str:
        return self.bank_database_url or f"sqlite:///{self.data_dir / 'bank.sqlite3'}"

    @property
    def records_db_url(self) -> str:
        return self.records_database_url or f"sqlite:///{self.data_dir / 'records.sqlite3'}"

    @property
    def content_root(self) -> Path:
        return self.content_dir or Path(__file__).resolve().parent.parent

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def output_dir(self) -> Path:
        """Where the printer simulator writes receipts and statements."""
        return self.data_dir / "printer"

    @property
    def keys_dir(self) -> Path:
        """Key files (core-bank signing, audit sealing); see :mod:`vtm.keys`. Never in the repository."""
        return self.data_dir / "keys"

    @property
    def audit_anchors_path(self) -> Path:
        """The audit chain's anchor folder (:mod:`vtm.audit.anchors`)."""
        return self.audit_anchor_dir or self.data_dir / "audit-anchors"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.output_dir, self.audio_dir, self.models_path):
            path.mkdir(parents=True, exist_ok=True)


def load_settings(env_file: str | Path | None = None, **overrides: object) -> Settings:
    """Read and validate the settings once; raise :class:`ConfigError` naming what is wrong."""
    env_file = env_file or os.environ.get("VTM_ENV_FILE")
    if env_file is not None and not Path(env_file).is_file():
        raise ConfigError(f"settings file {env_file} does not exist")
    try:
        # pydantic-settings takes the file as a keyword its stubs type per source; the values are validated.
        return Settings(_env_file=env_file, **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"VTM_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        source = f" (file {env_file})" if env_file else ""
        raise ConfigError(f"invalid settings{source}: {problems}") from exc
