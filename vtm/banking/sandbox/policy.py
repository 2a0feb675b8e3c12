"""Configuration of the sandbox bank: how long things take, how many tries, how hard PIN hashing is.

The defaults follow ``/work/shared/DOMAIN.md``: three PIN tries, a temporary loss report lapses after
5 days, transfers to others from a self-service device arrive after 24 hours unless the request asks
for real-time arrival (the compliance gate upstream decides whether that is allowed).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SandboxPolicy"]


class SandboxPolicy(BaseModel):
    """Tunable rules of the sandbox bank (immutable; pass a new one to change behaviour)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pin_max_attempts: int = Field(default=3, ge=1, le=10, description="Wrong PINs before the card locks.")
    temporary_loss_days: int = Field(
        default=5, ge=1, le=60, description="A temporary loss report lapses after."
    )
    replacement_wait_days: int = Field(
        default=0, ge=0, le=30, description="Days after a formal report before a new card can be issued."
    )
    delayed_transfer_hours: int = Field(
        default=24, ge=0, le=72, description="Delay of non-realtime transfers."
    )
    max_period_days: int = Field(
        default=731, ge=1, le=3660,
        description="Longest history or statement period one request may ask for (two years). The kiosk's "
        "own, shorter cap is compliance rule STMT-PERIOD-CAP.",
    )
    face_match_threshold: float = Field(default=0.80, ge=0.0, le=1.0)
    timezone: str = Field(default="Asia/Shanghai", description="Bank business day (history, daily usage).")
    # argon2id parameters for new PIN hashes (OWASP minimum: m=19 MiB, t=2, p=1).
    pin_hash_time_cost: int = Field(default=2, ge=1, le=10)
    pin_hash_memory_kib: int = Field(default=19_456, ge=8, le=1_048_576)
    pin_hash_parallelism: int = Field(default=1, ge=1, le=8)

    @property
    def temporary_loss(self) -> timedelta:
        return timedelta(days=self.temporary_loss_days)

    @property
    def replacement_wait(self) -> timedelta:
        return timedelta(days=self.replacement_wait_days)

    @property
    def transfer_delay(self) -> timedelta:
        return timedelta(hours=self.delayed_transfer_hours)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
