"""The account in the patient's export: who they are and how they sign in (never a secret:
no password hash, no key, no credential id)."""

from __future__ import annotations

from ..core.export import export_section


@export_section("account")
def account(user) -> dict:
    return {
        "name": user.display_name,
        "email": user.email,
        "role": user.role,
        "language": user.language,
        "time_zone": user.timezone,
        "large_text": user.large_text,
        "created_at": user.created_at,
        "password_set": user.password_hash is not None,
        "passkeys": [
            {"name": p.name, "created_at": p.created_at, "last_used_at": p.last_used_at}
            for p in sorted(user.passkeys, key=lambda p: p.id)
        ],
    }
