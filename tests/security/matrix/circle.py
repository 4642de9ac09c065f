"""Matrix entries for the care circle (webapp/circle/routes.py). See the package docstring."""

from __future__ import annotations

from tests.security.matrix import (
    ALLOW,
    NOT_FOUND,
    OTHER_PATIENT,
    OWNER,
    PRO_BLOCKED,
    PRO_GRANTED,
    PRO_NO_GRANT,
    RELATIVE_ALL,
    RELATIVE_ONLY,
    RELATIVE_WITHOUT,
    Route,
    expect,
)

PATIENTS = {OWNER, OTHER_PATIENT}
ACTIVE_GRANTEES = {RELATIVE_ALL, *RELATIVE_ONLY.values(), *RELATIVE_WITHOUT.values(), PRO_GRANTED}
PROS = {PRO_GRANTED, PRO_NO_GRANT, PRO_BLOCKED}


def _owner_row(model, **fields):
    """A disposable row of the owner's (an invitation, a block...) for one cell."""
    def build(s):
        from webapp.extensions import db

        row = model(s, **fields)
        db.session.add(row)
        db.session.commit()
        return row.id
    return build


def _invitation(s) -> tuple[int, str]:
    from webapp.accounts.models import User
    from webapp.circle import services
    from webapp.extensions import db

    owner = db.session.get(User, s.owner.id)
    row, code = services.create_invitation(owner, "Someone", "messages,agenda", None)
    return row.id, code


def _block(s):
    from webapp.circle.models import Block
    from webapp.extensions import db

    pro = s.new_user("professional")
    row = Block(patient_id=s.owner.id, professional_id=pro.id)
    db.session.add(row)
    db.session.commit()
    return row.id


def _request(s):
    from webapp.circle.models import AccessRequest
    from webapp.extensions import db

    pro = s.new_user("professional")
    row = AccessRequest(patient_id=s.owner.id, professional_id=pro.id, scopes="messages")
    db.session.add(row)
    db.session.commit()
    return row.id


def _notice(s):
    from webapp.circle.models import Notice
    from webapp.extensions import db

    row = Notice(user_id=s.owner.id, kind="emergency", text="test notice")
    db.session.add(row)
    db.session.commit()
    return row.id


def _new_relative_form(s):
    n = s.uid()
    return {"code": _invitation(s)[1], "display_name": f"Relative {n}",
            "email": f"joiner-{n}@example.test", "password": "a long enough password"}


# Owner's own rows: the owner may act, another patient is told "not found" (their circle has
# no such row), everyone else is refused by policy (circle.manage).
OWN_ROWS = expect.owner_only().but(other_patient=NOT_FOUND)

ROUTES = {
    "circle.index": Route("GET", "/circle/", expect.signed_in()),
    # Where a reload lands after creating a code: a redirect to the circle page.
    "circle.invitations": Route("GET", "/circle/invitations", expect.roles(PATIENTS)),
    "circle.invite": Route("POST", "/circle/invitations", expect.roles(PATIENTS),
                           data={"label": "Claire", "scopes": ["messages", "agenda"]}),
    "circle.cancel_invitation": Route(
        "POST", lambda s: f"/circle/invitations/{_invitation(s)[0]}/cancel", OWN_ROWS),
    "circle.join": [
        Route("GET", "/circle/join", expect.public()),
        # Relatives redeem; other signed-in roles are refused; anonymous visitors create a
        # relative's account. A fresh actor per cell: redeeming changes their grants.
        Route("POST", "/circle/join", expect.roles(
            {RELATIVE_ALL, *RELATIVE_ONLY.values(), *RELATIVE_WITHOUT.values(),
             "relative_expired", "relative_revoked", "anonymous"}),
            data=_new_relative_form, disposable_actor=True),
    ],
    "circle.directory": Route("GET", "/circle/directory?q=nurse", expect.roles(PATIENTS)),
    "circle.add_professional": Route(
        "POST", "/circle/grants", expect.roles(PATIENTS),
        data=lambda s: {"professional_id": s.new_user("professional").id,
                        "scopes": ["messages"]}),
    "circle.change_grant": Route(
        "POST", lambda s: f"/circle/grants/{s.disposable_grant().id}", OWN_ROWS,
        data={"scopes": ["messages"]}),
    "circle.revoke_grant": Route(
        "POST", lambda s: f"/circle/grants/{s.disposable_grant().id}/revoke", OWN_ROWS),
    "circle.block": Route(
        "POST", "/circle/blocks", expect.roles(PATIENTS),
        data=lambda s: {"professional_id": s.new_user("professional").id}),
    "circle.unblock": Route("POST", lambda s: f"/circle/blocks/{_block(s)}/remove", OWN_ROWS),
    "circle.decide_request": Route(
        "POST", lambda s: f"/circle/requests/{_request(s)}/decline", OWN_ROWS),
    "circle.emergency_setting": Route("POST", "/circle/settings/emergency",
                                      expect.roles(PATIENTS), data={"allowed": "1"}),
    "circle.read_notice": Route("POST", lambda s: f"/circle/notices/{_notice(s)}/read",
                                expect.owner_only(denied=NOT_FOUND)),
    "circle.act_for": Route("POST", "/circle/act-for", expect.roles(ACTIVE_GRANTEES),
                            data=lambda s: {"patient_id": s.owner.id}),
    "circle.find_patient": Route(
        "GET", lambda s: f"/circle/patients/find?email={s.owner.email}",
        expect.roles({PRO_GRANTED, PRO_NO_GRANT}).but(pro_blocked=NOT_FOUND)),
    "circle.request_access": Route(
        "POST", lambda s: f"/circle/patients/{s.owner.id}/request",
        expect.roles({PRO_GRANTED, PRO_NO_GRANT}, default=NOT_FOUND),
        data={"scopes": ["messages"], "note": "Hello"}),
    # A fresh actor per cell: breaking the glass opens the summary to them for 4 hours.
    "circle.emergency": Route(
        "POST", lambda s: f"/circle/patients/{s.owner.id}/emergency",
        expect.roles({PRO_GRANTED, PRO_NO_GRANT}, default=NOT_FOUND),
        data={"reason": "Unconscious at home, need allergies"}, disposable_actor=True),
    "circle.summary": Route("GET", lambda s: f"/circle/patients/{s.owner.id}/summary",
                            expect.scope("summary")),
    "circle.activity": Route("GET", "/circle/activity", expect.roles(PATIENTS)),
}

EVENTS: dict = {}

__all__ = ["ROUTES", "EVENTS", "ALLOW"]
