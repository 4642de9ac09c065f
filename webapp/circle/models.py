"""The care circle: who may see what of a patient's space, and until when.

A grant gives one person (a relative or a professional) some of a patient's data, by scope.
There is at most one grant row per (patient, grantee): narrowing, extending, revoking and
granting again all change that row, and every change is written to the access history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db

# The kinds of data a grant can open. Order is the display order.
SCOPES = ("messages", "agenda", "documents", "summary")

# How long a relative's invitation code stays valid, and how long emergency access lasts.
INVITATION_DAYS = 7
EMERGENCY_HOURS = 4


def parse_scopes(text: str | None) -> frozenset[str]:
    return frozenset(s for s in (text or "").split(",") if s)


def format_scopes(scopes) -> str:
    """Canonical storage form: known scopes in SCOPES order, comma-separated."""
    wanted = set(scopes)
    return ",".join(s for s in SCOPES if s in wanted)


class Grant(db.Model):
    __tablename__ = "circle_grants"
    __table_args__ = (UniqueConstraint("patient_id", "grantee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    grantee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(80))
    # Optional last moment of access (UTC); None means until revoked.
    ends_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]
    # Set by the expiry sweep once it has told listeners (access_changed) that ends_at passed.
    expiry_signalled_at: Mapped[datetime | None]

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    grantee: Mapped[User] = relationship(foreign_keys=[grantee_id])

    @property
    def scope_set(self) -> frozenset[str]:
        return parse_scopes(self.scopes)

    def is_active(self, at: datetime) -> bool:
        return self.revoked_at is None and (self.ends_at is None or self.ends_at > at)

    def __repr__(self) -> str:
        return f"<Grant {self.patient_id}->{self.grantee_id} {self.scopes}>"


class Block(db.Model):
    """A patient shuts a professional out: no access, no messages, not in the directory."""

    __tablename__ = "circle_blocks"
    __table_args__ = (UniqueConstraint("patient_id", "professional_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    professional: Mapped[User] = relationship(foreign_keys=[professional_id])


class Invitation(db.Model):
    """A one-time code a patient gives a relative. Only its hash is stored."""

    __tablename__ = "circle_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[str] = mapped_column(String(80))
    grant_ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None]

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])

    @property
    def scope_set(self) -> frozenset[str]:
        return parse_scopes(self.scopes)

    def is_pending(self, at: datetime) -> bool:
        return self.used_at is None and self.cancelled_at is None and self.expires_at > at


class AccessRequest(db.Model):
    """A professional asks a patient for access; the patient accepts or declines."""

    __tablename__ = "circle_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_at: Mapped[datetime | None]
    accepted: Mapped[bool | None]

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    professional: Mapped[User] = relationship(foreign_keys=[professional_id])

    @property
    def scope_set(self) -> frozenset[str]:
        return parse_scopes(self.scopes)


class EmergencyAccess(db.Model):
    """'Break the glass': a professional without a grant reads the summary, for 4 hours at most."""

    __tablename__ = "circle_emergency_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    expiry_signalled_at: Mapped[datetime | None]

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    professional: Mapped[User] = relationship(foreign_keys=[professional_id])

    def is_active(self, at: datetime) -> bool:
        return self.started_at <= at < self.ends_at


class CircleSettings(db.Model):
    """A patient's choices about their circle (absent row = defaults)."""

    __tablename__ = "circle_settings"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    emergency_access_allowed: Mapped[bool] = mapped_column(default=True)


class Notice(db.Model):
    """An in-app notice for one user (e.g. 'Dr X opened your summary in an emergency')."""

    __tablename__ = "circle_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]


# The access history's table ships with this domain's migration; importing it here registers it
# wherever the circle's models are loaded.
from .. import audit  # noqa: E402,F401
