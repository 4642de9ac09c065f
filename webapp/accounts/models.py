"""Users, their roles, their ways to sign in, pending WebAuthn ceremonies and invitations."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Role(enum.StrEnum):
    PATIENT = "patient"
    RELATIVE = "relative"
    PROFESSIONAL = "professional"
    ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


def new_webauthn_handle() -> bytes:
    # The WebAuthn user handle: random, never the database id or the email (privacy).
    return secrets.token_bytes(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), index=True)
    profession: Mapped[str | None] = mapped_column(String(80))
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    city: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    large_text: Mapped[bool] = mapped_column(default=False)
    theme: Mapped[str] = mapped_column(String(10), default="auto")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    webauthn_handle: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True,
                                                   default=new_webauthn_handle)
    active: Mapped[bool] = mapped_column(default=True)
    # When the patient closed their space (then `active` is False too); None while it is open.
    closed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    passkeys: Mapped[list[Passkey]] = relationship(
        back_populates="user", cascade="all, delete-orphan",
        order_by="(Passkey.created_at, Passkey.id)",
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT.value

    @property
    def is_relative(self) -> bool:
        return self.role == Role.RELATIVE.value

    @property
    def is_professional(self) -> bool:
        return self.role == Role.PROFESSIONAL.value

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def ways_in(self) -> int:
        """How many ways this person has to sign in: each passkey, plus the password."""
        return len(self.passkeys) + (1 if self.has_password else 0)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.email}>"


class Passkey(db.Model):
    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    transports: Mapped[str | None] = mapped_column(String(200))
    backed_up: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="passkeys")


class WebAuthnChallenge(db.Model):
    """One pending WebAuthn ceremony. The session holds only `token`; the row is deleted on use.

    purpose: "register" (a signed-in user adds a passkey), "authenticate" (sign-in),
    "reauth" (a signed-in user confirms it is them), "join" (redeeming an invitation; the
    details typed so far wait in `payload` until the passkey is verified).
    """

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Invitation(db.Model):
    """A single-use code that lets one person create an account with a given role.

    Only a hash of the code is stored. `context` carries data for whoever listens to
    `accounts.signals.invitation_redeemed` (e.g. the care circle's scopes for a relative).
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    profession: Mapped[str | None] = mapped_column(String(80))
    rpps: Mapped[str | None] = mapped_column(String(11))
    context: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]  # withdrawn by an administrator before it was used
    objected_at: Mapped[datetime | None]  # the invited patient refused to have a space
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    redeemed_by: Mapped[User | None] = relationship(foreign_keys=[redeemed_by_id])
