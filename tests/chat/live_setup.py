"""Run inside a live server's environment (same DATABASE_URL and instance): builds the chat
fixtures the process-level tests need and reads back what was stored. Prints JSON.

    python -m tests.chat.live_setup circle            -> users and a conversation
    python -m tests.chat.live_setup messages <conv>   -> [[id, client_id, body], ...]
    python -m tests.chat.live_setup revoke <patient> <grantee>
    python -m tests.chat.live_setup post <conv> <author> <body...>
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> None:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db

    app = create_app()
    with app.app_context():
        command = argv[0]
        if command == "circle":
            upgrade()
            print(json.dumps(_circle()))
        elif command == "messages":
            from webapp.chat.models import Message

            rows = db.session.scalars(
                db.select(Message)
                .where(Message.conversation_id == int(argv[1]))
                .order_by(Message.id)
            )
            print(json.dumps([[m.id, m.client_id, m.body] for m in rows]))
        elif command == "revoke":
            from webapp.accounts.models import User
            from webapp.circle import services as circle
            from webapp.circle.models import Grant

            patient = db.session.get(User, int(argv[1]))
            grant = db.session.scalar(
                db.select(Grant).filter_by(patient_id=patient.id, grantee_id=int(argv[2]))
            )
            circle.revoke_grant(patient, grant.id)
            print(json.dumps({"revoked": grant.id}))
        elif command == "post":
            import secrets

            from webapp.accounts.models import User
            from webapp.chat import services
            from webapp.chat.models import Conversation

            conv = db.session.get(Conversation, int(argv[1]))
            message, _ = services.post_message(
                db.session.get(User, int(argv[2])), conv, " ".join(argv[3:]), secrets.token_hex(12)
            )
            print(json.dumps({"id": message.id}))


def _circle() -> dict:
    import secrets

    from webapp.accounts import services as accounts
    from webapp.accounts.services.passwords import hasher
    from webapp.chat import services as chat
    from webapp.circle import services as circle
    from webapp.extensions import db

    tag = secrets.token_hex(4)
    password = "live-test-password-" + tag
    people = {}
    for key, role, extra in [
        ("patient", "patient", {}),
        ("relative", "relative", {}),
        (
            "nurse",
            "professional",
            {"profession": "Nurse", "rpps": str(10**10 + int(tag, 16) % 10**9)},
        ),
    ]:
        user = accounts.create_user(
            email=f"{key}-{tag}@live.test",
            display_name=f"{key.title()} {tag}",
            role=role,
            language="en",
            **extra,
        )
        user.password_hash = hasher().hash(password)
        people[key] = user
    db.session.commit()
    circle.grant(people["patient"], people["relative"], "messages", None)
    circle.grant(people["patient"], people["nurse"], "messages", None)
    db.session.commit()
    conv = chat.start_conversation(
        people["nurse"],
        patient=people["patient"],
        member_ids=[people["relative"].id],
        subject="Live test",
    )
    return {
        "password": password,
        "conversation": conv.id,
        **{k: {"id": u.id, "email": u.email} for k, u in people.items()},
    }


if __name__ == "__main__":
    main(sys.argv[1:])
