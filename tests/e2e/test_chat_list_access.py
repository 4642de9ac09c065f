"""The conversation list marks, live, a member who lost access: Claire is on her list when
Jeanne revokes her nurse; the row of their conversation says so without a reload."""

from __future__ import annotations

from tests.e2e.conftest import sign_in_with_password
from tests.e2e.helpers import revoke_as_patient

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def test_the_list_marks_a_member_who_lost_access_at_once(phone, tmp_path):
    """(A server of its own: revoking the demo nurse would change the other tests' data.)"""

    from tests.live import LiveServer

    server = LiveServer(tmp_path / "list-revoke").prepare(seed=True)
    server.start()
    claire, jeanne = (phone(server.url, "fr-FR") for _ in range(2))
    try:
        sign_in_with_password(claire, *CLAIRE)
        claire.goto("/chat/")
        claire.wait_for_function("() => window.HSChat && window.HSChat.connected()")
        row = claire.locator(".chat-row", has_text="Pansement de la jambe")
        assert row.locator(".chat-row__lost").count() == 0

        status = revoke_as_patient(jeanne, server.database_url, JEANNE,
                                   "nadia@demo.healthspace.test")
        assert status in (200, 204, 302)

        mark = row.locator(".chat-row__lost")
        mark.wait_for()
        assert mark.inner_text() == "Nadia Benali n’a plus accès"
        assert claire.url.endswith("/chat/")  # no reload, no navigation
    finally:
        for page in (claire, jeanne):
            page.context.close()  # before the server stops
        server.stop()
