"""Push subscriptions (one per browser/device) and the per-user notification preference."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PushSubscription(db.Model):
    """A browser's PushSubscription. The endpoint is a capability URL: unique, never shown."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    failure_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the person taps "It works" on a test notification from this device.
    test_confirmed_at: Mapped[datetime | None]

    def info(self) -> dict:
        """The subscription_info dict pywebpush expects."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushPreference(db.Model):
    """Per-user notification setting; no row means the defaults (no details shown)."""

    __tablename__ = "push_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    show_details: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
