"""Two people, two phones: Jeanne (patient) and Nadia (her nurse) in the demo conversation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, assert_accessible, sign_in_with_password
from tests.e2e.helpers import revoke_as_patient

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
NADIA = ("nadia@demo.healthspace.test", "nadia-demo-2026")


def open_demo_conversation(page, account):
    sign_in_with_password(page, *account)
    page.goto("/chat/")
    page.get_by_role("link", name="Pansement de la jambe").first.click()
    page.wait_for_selector("#chat[data-conversation-id]")
    # Connected: the replay on connect has run once the composer can send live.
    page.wait_for_function("() => window.HSChat && window.HSChat.connected()")
    return page


# The status the author's phone shows on the latest message containing a text (None: none yet).
_STATUS = ("t => { const m = [...document.querySelectorAll('#message-list .msg[data-id]')]"
           ".filter(e => e.textContent.includes(t)).pop(); return m ? m.dataset.status : null; }")


def status_of(page, text: str) -> str | None:
    return page.evaluate(_STATUS, text)


def wait_for_status(page, text: str, status: str) -> None:
    page.wait_for_function(f"([t, s]) => ({_STATUS})(t) === s", arg=[text, status])


@pytest.fixture
def two_phones(phone, live_server):
    pages = [phone(live_server.url) for _ in range(2)]
    return [page.context for page in pages], pages


def test_live_conversation_between_patient_and_nurse(two_phones):
    (jeanne_ctx, nadia_ctx), (jeanne, nadia) = two_phones
    open_demo_conversation(jeanne, JEANNE)
    open_demo_conversation(nadia, NADIA)

    # Typing shows on the other phone.
    nadia.fill("#composer-body", "Bonjour Jeanne, comment va la jambe")
    nadia.locator("#composer-body").press_sequentially(" ?")
    jeanne.wait_for_selector("#typing:has-text('Nadia Benali')")

    # Send: it appears live on Jeanne's phone, and turns "read" on Nadia's.
    nadia.click("#composer button[type=submit]")
    mine = nadia.locator("#message-list .msg[data-id]", has_text="comment va la jambe").last
    jeanne.locator("#message-list .msg", has_text="comment va la jambe").wait_for()
    wait_for_status(nadia, "comment va la jambe", "read")
    # A group conversation says who read it, in the reader's language.
    assert "Jeanne Martin" in mine.locator(".msg__status").inner_text()
    assert mine.locator(".msg__status").is_visible()  # the author sees statuses
    theirs = jeanne.locator("#message-list .msg", has_text="comment va la jambe").last
    assert not theirs.locator(".msg__status").is_visible()  # the reader does not

    # Offline: the message waits in the outbox, then goes when the network is back.
    jeanne_ctx.set_offline(True)
    jeanne.wait_for_function("() => !window.HSChat.connected()")
    jeanne.fill("#composer-body", "Envoyé hors connexion")
    jeanne.click("#composer button[type=submit]")
    pending = jeanne.locator("#message-list .msg--pending", has_text="Envoyé hors connexion")
    pending.wait_for()
    assert pending.get_attribute("data-status") == "waiting"
    assert jeanne.locator("#chat-connection").is_visible()
    jeanne_ctx.set_offline(False)
    nadia.locator("#message-list .msg", has_text="Envoyé hors connexion").wait_for()
    jeanne.locator("#message-list .msg[data-id]", has_text="Envoyé hors connexion").wait_for()
    assert jeanne.locator("#message-list .msg--pending").count() == 0
    # Stored once: a reload shows it exactly once.
    jeanne.reload()
    assert jeanne.locator("#message-list .msg", has_text="Envoyé hors connexion").count() == 1

    # Accessibility of both chat screens at the phone size.
    assert_accessible(jeanne)
    jeanne.goto("/chat/")
    assert_accessible(jeanne)


def test_composer_refuses_over_long_text_and_counts(page):
    open_demo_conversation(page, NADIA)
    page.fill("#composer-body", "x" * 10)
    # Counts written the French way (a narrow no-break space between thousands).
    assert page.locator("#composer-count").inner_text() == "10 / 4\u202f000"
    # The textarea stops at 4,000; even a forced longer value is refused with a clear message.
    page.evaluate("() => { document.querySelector('#composer-body').value = 'y'.repeat(4001); }")
    page.click("#composer button[type=submit]")
    assert "4\u202f001 / 4\u202f000" in page.locator("#composer-error").inner_text()
    assert page.locator("#message-list .msg--pending").count() == 0


# ---- The phone layout: what only a browser shows ----------------------------------------

CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")
PAUL = ("dr.lefevre@demo.healthspace.test", "paul-demo-2026")
SMALL_PHONE = {"width": 320, "height": 640}


def until(page, expression: str, seconds: float = 10):
    """Poll `expression` (JS returning {ok, ...}) in the page; returns its last value."""
    return page.evaluate(f"""async () => {{
        const until = Date.now() + {int(seconds * 1000)};
        for (;;) {{
            const seen = ({expression})();
            if (seen.ok || Date.now() > until) return seen;
            await new Promise(resolve => setTimeout(resolve, 50));
        }}
    }}""")


def save_settings(page, *, large_text=None, language=None) -> None:
    """Change the signed-in person's settings through the Me page, as they would."""
    page.goto("/accounts/me")
    if large_text is not None and page.is_checked("#large_text") != large_text:
        # Away from the fixed tab bar: with a banner above (e.g. notifications not turned on)
        # the box can sit right on its edge, where a tap does not reach it.
        page.locator("label[for=large_text]").evaluate("e => e.scrollIntoView({block: 'center'})")
        page.click("label[for=large_text]")
    if language is not None:
        page.select_option("#language", language)
    page.click("#settings button[type=submit]")
    if large_text is not None:
        page.wait_for_function(
            f"() => document.documentElement.classList.contains('large-text') === "
            f"{'true' if large_text else 'false'}"
        )
    if language is not None:
        page.wait_for_function(f"() => document.documentElement.lang === '{language}'")


def open_conversation(page, subject: str) -> None:
    """From the list, as people do (a boosted navigation), until the socket is connected."""
    page.goto("/chat/")
    page.get_by_role("link", name=subject).first.click()
    page.wait_for_selector("#chat[data-conversation-id]")
    page.wait_for_function("() => window.HSChat && window.HSChat.connected()")


def make_long(page, at_least: int = 20) -> None:
    """Enough long messages in the open conversation to fill several screens."""
    missing = at_least - page.locator("#message-list .msg[data-id]").count()
    if missing <= 0:
        return
    page.evaluate("""async (n) => {
        const chat = document.querySelector('#chat');
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        for (let i = 0; i < n; i++) {
            const body = new URLSearchParams({
                body: 'Point ' + i + ' : ' + 'la plaie cicatrise bien, à surveiller. '.repeat(4),
                client_id: 'e2e-long-' + i + '-' + crypto.randomUUID().slice(0, 8)});
            const r = await fetch('/chat/' + chat.dataset.conversationId + '/messages', {
                method: 'POST', body, headers: {'X-CSRFToken': token, 'HX-Request': 'true'}});
            if (!r.ok) throw new Error('post ' + r.status);
        }
    }""", missing)


COMPOSER_PLACE = """() => {
    const send = document.querySelector('#composer button[type=submit]').getBoundingClientRect();
    const composer = document.querySelector('#composer').getBoundingClientRect();
    const tabbar = document.querySelector('.tabbar').getBoundingClientRect();
    const msgs = document.querySelectorAll('#message-list .msg[data-id]');
    const last = msgs[msgs.length - 1].getBoundingClientRect();
    const end = document.documentElement.scrollHeight - window.innerHeight;
    return {aboveTabbar: composer.top >= 0 && composer.bottom <= tabbar.top + 0.5
                         && send.bottom <= tabbar.top + 0.5,
            atEnd: window.scrollY >= end - 1, lastAboveComposer: last.bottom <= composer.top + 0.5,
            send: [send.top, send.bottom], composer: [composer.top, composer.bottom],
            tabbar: tabbar.top, scrollY: window.scrollY, end};
}"""
# Opened: at its end, the newest message just above the composer, all of it above the tab bar.
OPENED = "s => s.aboveTabbar && s.atEnd && s.lastAboveComposer"


def composer_place(page, condition: str) -> dict:
    """Where the composer is, once `condition` holds (or after 10 s: the caller asserts)."""
    return until(page, f"() => {{ const s = ({COMPOSER_PLACE})(); s.ok = ({condition})(s);"
                       " return s; }")


@pytest.mark.parametrize(
    "account, subject, large_text, scheme",
    [
        (PAUL, "Relais de soins", False, "light"),
        (CLAIRE, "Pansement de la jambe", True, "dark"),
    ],
    ids=["professional", "relative-large-text-dark"],
)
def test_composer_is_above_the_tab_bar_in_a_long_conversation(
    phone, live_server, account, subject, large_text, scheme
):
    """The Send button was under the fixed tab bar (and a boosted opening showed the top)."""
    page = phone(live_server.url, "fr-FR", color_scheme=scheme)
    try:
        sign_in_with_password(page, *account)
        save_settings(page, large_text=large_text)
        open_conversation(page, subject)
        make_long(page)
        for how in ("full load", "reload", "from the list"):
            if how == "from the list":
                open_conversation(page, subject)
            else:
                page.goto(page.url) if how == "full load" else page.reload()
                page.wait_for_function("() => window.HSChat && window.HSChat.connected()")
            assert page.evaluate("document.documentElement.scrollHeight") > 3 * PHONE["height"]
            seen = composer_place(page, OPENED)
            assert seen["ok"], f"{how}: {seen}"
        # Reading back up, the composer stays in sight above the tab bar.
        page.evaluate("window.scrollTo(0, 0)")
        seen = composer_place(page, "s => s.aboveTabbar")
        # (Older messages may load in at the top meanwhile: far from the end is what counts.)
        assert seen["ok"] and seen["scrollY"] < seen["end"] - PHONE["height"], seen
    finally:
        save_settings(page, large_text=False)


def test_narrow_phone_with_large_text_wraps_instead_of_overlapping(phone, live_server):
    """320 px, large text: the Messages title and "New conversation" must not overlap or clip,
    and the Me page must not scroll sideways (an address has no space to wrap at)."""
    page = phone(live_server.url, "fr-FR", viewport=SMALL_PHONE)
    try:
        sign_in_with_password(page, *CLAIRE)
        save_settings(page, large_text=True)
        page.goto("/chat/")
        head = page.evaluate("""() => {
            const r = e => e.getBoundingClientRect();
            const h1 = r(document.querySelector('.chat-head h1'));
            const link = document.querySelector('.chat-head .button');
            const b = r(link);
            return {overlap: !(h1.right <= b.left || b.right <= h1.left
                               || h1.bottom <= b.top || b.bottom <= h1.top),
                    clipped: link.scrollWidth > link.clientWidth + 1
                             || link.scrollHeight > link.clientHeight + 1,
                    inside: b.left >= 0 && b.right <= window.innerWidth,
                    width: document.documentElement.scrollWidth, text: link.innerText};
        }""")
        assert not head["overlap"] and not head["clipped"] and head["inside"], head
        assert head["width"] <= SMALL_PHONE["width"], head
        assert " ".join(head["text"].split()) == "Nouvelle conversation"

        page.goto("/accounts/me")
        me = page.evaluate("""() => ({
            width: document.documentElement.scrollWidth,
            tabbar: document.querySelector('.tabbar').getBoundingClientRect().width,
            line: document.querySelector('main .lead').innerText})""")
        assert me["width"] <= SMALL_PHONE["width"] and me["tabbar"] <= SMALL_PHONE["width"], me
        assert me["line"].startswith("Proche · claire@"), me
    finally:
        save_settings(page, large_text=False)


def test_typing_indicator_clears_when_their_message_arrives(two_phones):
    _contexts, (jeanne, nadia) = two_phones
    open_demo_conversation(jeanne, JEANNE)
    open_demo_conversation(nadia, NADIA)
    nadia.fill("#composer-body", "Je passe vers 10h")
    nadia.locator("#composer-body").press_sequentially(" demain")
    jeanne.wait_for_selector("#typing:has-text('Nadia Benali')")
    nadia.click("#composer button[type=submit]")
    # Seen from the moment the message shows (well before the indicator's own 4 s expiry).
    seen = until(jeanne, """() => {
        const arrived = [...document.querySelectorAll('#message-list .msg[data-id]')]
            .some(m => m.textContent.includes('Je passe vers 10h demain'));
        return {ok: arrived, typing: document.querySelector('#typing').textContent};
    }""")
    assert seen["ok"] and seen["typing"] == "", seen


def test_a_message_of_only_spaces_is_refused_with_a_message(page):
    open_demo_conversation(page, NADIA)
    page.fill("#composer-body", "       ")
    # The counter counts what would be sent.
    assert page.locator("#composer-count").inner_text() == "0 / 4\u202f000"
    page.fill("#composer-body", "  ok  ")
    assert page.locator("#composer-count").inner_text() == "2 / 4\u202f000"
    page.fill("#composer-body", "       ")
    page.click("#composer button[type=submit]")
    # The server's own refusal, in the reader's language (Nadia reads French).
    assert page.locator("#composer-error").inner_text() == "Écrivez un message avant d’envoyer."
    assert page.get_attribute("#composer-body", "aria-invalid") == "true"
    assert page.locator("#message-list .msg--pending").count() == 0
    page.locator("#composer-body").press_sequentially("Bonjour")
    assert page.locator("#composer-error").inner_text() == ""
    assert page.get_attribute("#composer-body", "aria-invalid") is None


def test_times_are_24_hour_in_the_readers_zone_in_english(phone, live_server):
    """The agenda shows "08:00" in the person's zone (Europe/Paris): so does the chat, in English
    too ("07:15 AM" before), even on a phone set to another zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    page = phone(live_server.url, "en-US", timezone_id="America/New_York")
    try:
        sign_in_with_password(page, *PAUL)
        save_settings(page, language="en")
        open_conversation(page, "Relais de soins")
        page.fill("#composer-body", "Time check")
        page.click("#composer button[type=submit]")
        page.locator("#message-list .msg[data-id]", has_text="Time check").wait_for()
        times = page.evaluate("""() => [...document.querySelectorAll('time[data-local-time]')]
            .map(t => [t.getAttribute('datetime'), t.textContent])""")
        assert len(times) >= 2
        for stamp, shown in times:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            assert shown == at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M"), times
    finally:
        save_settings(page, language="fr")


def test_quick_replies_wrap_as_full_chips(phone, live_server):
    """Professionals' quick replies: chips on several lines, each a full tap target, no text
    cut by the edge of a sideways strip."""
    page = phone(live_server.url, "fr-FR", viewport=SMALL_PHONE)
    long_reply = "Merci pour votre message, je reviens vers vous dans la journée sans faute."
    replies = ["D’accord", "Je passe demain matin", "Pouvez-vous m’envoyer une photo ?",
               long_reply, "Appelez le cabinet"]
    sign_in_with_password(page, *PAUL)
    page.goto("/chat/quick-replies")
    for text in replies:
        if not page.locator(".quick-replies__row", has_text=text).count():
            page.fill("#quick-reply-text", text)
            page.click("#quick-replies form.card button[type=submit]")
            page.locator(".quick-replies__row", has_text=text).wait_for()
    open_conversation(page, "Relais de soins")
    chips = page.evaluate("""() => {
        const strip = document.querySelector('.quick-replies');
        return {
            overflow: strip.scrollWidth > strip.clientWidth + 1,
            page: document.documentElement.scrollWidth,
            chips: [...strip.querySelectorAll('.quick-reply')].map(c => {
                const r = c.getBoundingClientRect();
                return {text: c.textContent.trim(), full: c.dataset.quickReply,
                        top: Math.round(r.top), left: r.left, right: r.right,
                        width: r.width, height: r.height,
                        clipped: c.scrollWidth > c.clientWidth + 1
                                 || c.scrollHeight > c.clientHeight + 1};
            }),
            width: strip.getBoundingClientRect().right};
    }""")
    assert not chips["overflow"] and chips["page"] <= SMALL_PHONE["width"], chips
    assert len({c["top"] for c in chips["chips"]}) > 1, "all chips on one line"
    for chip in chips["chips"]:
        assert chip["height"] >= 44 and chip["width"] >= 44, chip
        assert not chip["clipped"] and chip["right"] <= chips["width"] + 0.5, chip
        if chip["text"] != chip["full"]:
            # Shortened at a word boundary, and says so.
            kept = chip["text"].removesuffix("…")
            assert chip["text"].endswith("…") and chip["full"].startswith(kept), chip
            assert chip["full"][len(kept)] == " ", chip
    long_chip = next(c for c in chips["chips"] if c["full"] == long_reply)
    assert long_chip["text"] != long_reply
    # A tap puts the whole reply in the message box.
    page.get_by_role("button", name=long_chip["text"]).click()
    assert page.input_value("#composer-body") == long_reply


def test_others_see_at_once_that_a_member_lost_access(phone, tmp_path):
    """Jeanne revokes her nurse while Claire has the conversation open: Claire's header marks
    Nadia and a notice above the composer says she will not read it; her draft stays. (A server
    of its own: revoking the demo nurse would change the other tests' conversation.)"""

    from tests.live import LiveServer

    server = LiveServer(tmp_path / "revoke").prepare(seed=True)
    server.start()
    claire, jeanne = (phone(server.url, "fr-FR") for _ in range(2))
    try:
        sign_in_with_password(claire, *CLAIRE)
        open_conversation(claire, "Pansement de la jambe")
        assert claire.inner_text("#chat-members").startswith("Nadia Benali, Jeanne Martin")
        assert not claire.is_visible("#chat-access-notice")
        claire.fill("#composer-body", "Maman a de la fièvre")

        status = revoke_as_patient(jeanne, server.database_url, JEANNE,
                                   "nadia@demo.healthspace.test")
        assert status in (200, 204, 302)

        claire.wait_for_function(
            "() => document.querySelector('#chat-members').innerText.includes('plus accès')")
        assert claire.inner_text("#chat-members").startswith(
            "Nadia Benali (n’a plus accès), Jeanne Martin")
        notice = claire.locator("#chat-access-notice")
        assert notice.is_visible()
        assert notice.inner_text() == ("Nadia Benali n’a plus accès à cette conversation\u202f: "
                                       "les messages envoyés ici ne lui parviendront pas.")
        # Above the message box, and the draft is still there.
        box = claire.locator("#composer-body").bounding_box()
        assert notice.bounding_box()["y"] + notice.bounding_box()["height"] <= box["y"]
        assert claire.input_value("#composer-body") == "Maman a de la fièvre"
    finally:
        for page in (claire, jeanne):
            page.context.close()  # before the server stops
        server.stop()


def test_scrolling_up_loads_one_older_page_and_keeps_the_reader_in_place(page):
    """The older page goes above what the reader sees: no cascade to the very first message,
    and one day separator for a day split across pages."""
    open_demo_conversation(page, NADIA)
    make_long(page, 70)
    page.reload()
    page.wait_for_function("() => window.HSChat && window.HSChat.connected()")
    first = page.locator("#message-list .msg[data-id]").first.get_attribute("id")
    shown = page.locator("#message-list .msg[data-id]").count()
    page.mouse.wheel(0, -100_000)
    seen = until(page, f"""() => {{
        const n = document.querySelectorAll('#message-list .msg[data-id]').length;
        const top = document.getElementById('{first}').getBoundingClientRect().top;
        const days = [...document.querySelectorAll('#message-list > li.msg-day')]
            .map(d => d.dataset.day);
        return {{ok: n > {shown} && !document.querySelector('#message-list .htmx-settling'),
                 n, top, days, scrollY: window.scrollY, height: window.innerHeight}};
    }}""")
    assert seen["ok"], seen
    # The message that was at the top is still on screen, not a page or more further down.
    assert 0 <= seen["top"] < seen["height"], seen
    assert len(seen["days"]) == len(set(seen["days"])), seen


def test_screen_readers_hear_each_new_message_from_others_once(two_phones):
    _contexts, (jeanne, nadia) = two_phones
    open_demo_conversation(jeanne, JEANNE)
    open_demo_conversation(nadia, NADIA)
    # Not the whole list: older pages, one's own bubbles and statuses would be read out too.
    assert jeanne.get_attribute("#message-list", "aria-live") is None
    nadia.fill("#composer-body", "Je passe à 9h")
    nadia.click("#composer button[type=submit]")
    jeanne.wait_for_selector("#message-list .msg[data-id]:has-text('Je passe à 9h')")
    region = jeanne.locator("#chat-announce")
    assert region.get_attribute("role") == "status"
    # Jeanne reads the app in French.
    assert region.text_content() == "Nouveau message de Nadia Benali\u202f: Je passe à 9h"
    # One's own message is not announced to oneself.
    nadia.wait_for_selector("#message-list .msg[data-id]:has-text('Je passe à 9h')")
    assert nadia.locator("#chat-announce").text_content() == ""


def _closed_while_jeanne_is_offline(two_phones, text: str, send: bool):
    """Jeanne, cut off, types `text` (and taps Send when `send`); meanwhile Nadia closes the
    conversation; then Jeanne is back online. Returns (jeanne, nadia)."""
    contexts, (jeanne, nadia) = two_phones
    open_demo_conversation(jeanne, JEANNE)
    open_demo_conversation(nadia, NADIA)
    contexts[0].set_offline(True)
    jeanne.wait_for_function("() => !window.HSChat.connected()")
    jeanne.fill("#composer-body", text)
    if send:
        jeanne.click("#composer button[type=submit]")
    nadia.once("dialog", lambda dialog: dialog.accept())
    nadia.click("#composer-area form.actions button[type=submit]")
    nadia.wait_for_selector("#composer-area .closed-notice")
    contexts[0].set_offline(False)
    return jeanne, nadia


def test_a_conversation_closed_while_offline_shows_closed_once_back_online(two_phones):
    jeanne, nadia = _closed_while_jeanne_is_offline(two_phones, "Un brouillon", send=False)
    # The "closed" event went by while Jeanne was cut off: her composer follows on reconnect.
    jeanne.wait_for_selector("#composer-area .closed-notice")
    assert jeanne.locator("#composer-body").count() == 0
    nadia.click("#composer-area form.actions button[type=submit]")
    nadia.wait_for_selector("#composer-body")
    # Reopened: Jeanne's message box comes back with what she had typed.
    jeanne.wait_for_selector("#composer-body")
    expect(jeanne.locator("#composer-body")).to_have_value("Un brouillon")


def test_a_refused_message_shows_its_resend_button(two_phones):
    jeanne, nadia = _closed_while_jeanne_is_offline(two_phones, "Envoyé trop tard", send=True)
    jeanne.wait_for_selector(".msg--pending .msg__resend:not([hidden])")
    colours = jeanne.evaluate("""() => {
        const button = getComputedStyle(document.querySelector('.msg--pending .msg__resend'));
        return {text: button.color, background: button.backgroundColor,
                bubble: getComputedStyle(document.querySelector('.msg--pending')).backgroundColor};
    }""")
    # Not accent text on a transparent button over the accent bubble: it would not show.
    assert colours["background"] not in ("rgba(0, 0, 0, 0)", colours["bubble"]), colours
    assert colours["text"] != colours["background"], colours
    nadia.click("#composer-area form.actions button[type=submit]")
    nadia.wait_for_selector("#composer-body")
    # Reopened, but that message was refused for good: Jeanne removes it (asked first), and
    # its text comes back to her message box; it never reaches Nadia.
    jeanne.wait_for_selector("#composer-body")
    jeanne.once("dialog", lambda dialog: dialog.accept())
    jeanne.click(".msg--pending .msg__discard")
    expect(jeanne.locator(".msg--pending")).to_have_count(0)
    assert jeanne.input_value("#composer-body") == "Envoyé trop tard"
    jeanne.reload()
    expect(jeanne.locator(".msg--pending")).to_have_count(0)  # gone from the outbox too
    expect(nadia.locator(".msg__body", has_text="Envoyé trop tard")).to_have_count(0)


def socket_frames(page, direction: str) -> list[str]:
    """The frames ("framesent" or "framereceived") of the websockets the page opens from now
    on, as text, in a list that fills as they go."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on(direction, lambda payload: frames.append(
        payload if isinstance(payload, str) else payload.decode(errors="replace"))))
    return frames


def _badge(page) -> int:
    badge = page.locator("#unread-badge")
    return 0 if badge.is_hidden() else int(badge.inner_text() or 0)


def test_delivered_off_screen_read_on_screen_and_the_badge_follows(two_phones):
    """Off the conversation, Jeanne's phone says "delivered" and her badge counts the message;
    on it, her phone says only "read" (no "delivered" first) and asks nobody for the badge:
    the total comes with the server's event."""
    (_, _), (jeanne, nadia) = two_phones
    open_demo_conversation(nadia, NADIA)
    open_demo_conversation(jeanne, JEANNE)
    jeanne.goto("/agenda/")
    jeanne.wait_for_function("() => window.HSChat && window.HSChat.connected()")
    before = _badge(jeanne)

    nadia.fill("#composer-body", "Hors écran")
    nadia.click("#composer button[type=submit]")
    wait_for_status(nadia, "Hors écran", "delivered")
    expect(jeanne.locator("#unread-badge")).to_have_text(str(before + 1))

    # She opens it: "read" on Nadia's phone, and her badge goes down by the event's total.
    open_conversation(jeanne, "Pansement de la jambe")
    wait_for_status(nadia, "Hors écran", "read")
    sent_frames = socket_frames(jeanne, "framesent")
    asked: list[str] = []
    jeanne.on("request", lambda r: asked.append(r.url) if "/chat/unread" in r.url else None)
    # The socket was opened before the listener: reconnect so its frames are seen.
    jeanne.evaluate("() => { const s = window.HSChat.socket(); s.disconnect(); s.connect(); }")
    jeanne.wait_for_function("() => window.HSChat.connected()")
    expect(jeanne.locator("#unread-badge")).to_be_hidden()
    jeanne.wait_for_timeout(500)  # the replay's own "read" after reconnecting
    sent_frames.clear()

    nadia.fill("#composer-body", "Sous ses yeux")
    nadia.click("#composer button[type=submit]")
    wait_for_status(nadia, "Sous ses yeux", "read")
    assert any('"read"' in f for f in sent_frames), sent_frames
    assert not any('"delivered"' in f for f in sent_frames), sent_frames
    jeanne.wait_for_timeout(400)  # a badge fetch would have gone by now (250 ms)
    assert asked == []
    expect(jeanne.locator("#unread-badge")).to_be_hidden()


def test_a_message_the_reader_never_saw_is_delivered_not_read(two_phones):
    """It came in on screen, but the phone was locked before the page could say "read"."""
    (_, _), (jeanne, nadia) = two_phones
    open_demo_conversation(nadia, NADIA)
    open_demo_conversation(jeanne, JEANNE)
    jeanne.evaluate("""() => window.HSChat.on("new_message", () => setTimeout(() => {
        Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
    }, 50))""")
    nadia.fill("#composer-body", "Téléphone verrouillé")
    nadia.click("#composer button[type=submit]")
    wait_for_status(nadia, "verrouillé", "delivered")
    jeanne.wait_for_timeout(600)
    assert status_of(nadia, "verrouillé") == "delivered"


def test_a_receipt_that_comes_before_the_acknowledgement_still_counts(two_phones):
    """Jeanne's phone answers "delivered" before the server's acknowledgement of the message
    gets back to Nadia's (held here): Nadia's message still ends up "delivered"."""
    (_, _), (jeanne, nadia) = two_phones
    held, receipts = [], []

    def route(ws):
        server = ws.connect_to_server()

        def from_server(message):
            text = message if isinstance(message, str) else message.decode()
            if text.startswith("43/chat,") and "Accus" in text and not receipts:
                held.append((ws, message))  # this acknowledgement waits for the receipt
                return
            if '"receipt"' in text:
                receipts.append(text)
            ws.send(message)

        server.on_message(from_server)

    nadia.route_web_socket(lambda url: "/socket.io/" in url, route)
    open_demo_conversation(nadia, NADIA)
    sign_in_with_password(jeanne, *JEANNE)
    jeanne.goto("/agenda/")
    jeanne.wait_for_function("() => window.HSChat && window.HSChat.connected()")
    nadia.fill("#composer-body", "Accusé en retard")
    nadia.click("#composer button[type=submit]")
    for _ in range(200):
        if receipts and held:
            break
        nadia.wait_for_timeout(50)
    assert receipts and held, (receipts, held)
    assert nadia.locator(".msg--pending", has_text="Accusé en retard").count() == 1
    for ws, message in held:
        ws.send(message)
    wait_for_status(nadia, "Accusé en retard", "delivered")


CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def _typing_misses(page, received, *, typist, witness) -> None:
    """Nadia types: the witness's page shows it, and `page`'s socket gets no "typing" frame
    (`received`: its frames, see socket_frames)."""
    page.wait_for_timeout(300)  # its "away" on the way
    received.clear()
    typist.locator("#composer-body").press_sequentially("Je passe")
    witness.wait_for_selector("#typing:has-text('Nadia Benali')")
    page.wait_for_timeout(300)  # sent together: a frame for `page` would have come by now
    assert not any('"typing"' in frame for frame in received), received


def _typing_reaches(page, *, typist) -> None:
    """Nadia goes on typing (her phone says so every 2.5 s at most) until `page` shows it."""
    shown = page.locator("#typing", has_text="Nadia Benali")
    for _ in range(20):
        typist.locator("#composer-body").press_sequentially(" et demain")
        if shown.count():
            break
        page.wait_for_timeout(500)
    expect(shown).to_be_visible()


def test_typing_reaches_only_the_phones_showing_the_conversation(phone, live_server):
    """Jeanne leaves the conversation for her agenda from the tab bar (a boosted navigation:
    the same socket): Nadia's typing no longer reaches her phone, while Claire, who shows the
    conversation, sees it. Back on the conversation, Jeanne sees it again."""
    jeanne, nadia, claire = (phone(live_server.url) for _ in range(3))
    received = socket_frames(jeanne, "framereceived")
    for page, account in ((jeanne, JEANNE), (nadia, NADIA), (claire, CLAIRE)):
        open_demo_conversation(page, account)
    socket_id = jeanne.evaluate("() => window.HSChat.socket().id")

    jeanne.get_by_role("link", name="Agenda").click()
    jeanne.wait_for_selector("[data-agenda-patient]")
    assert jeanne.evaluate("() => window.HSChat.socket().id") == socket_id  # not a new page
    _typing_misses(jeanne, received, typist=nadia, witness=claire)

    jeanne.get_by_role("link", name="Messages").click()
    jeanne.get_by_role("link", name="Pansement de la jambe").first.click()
    jeanne.wait_for_selector("#chat[data-conversation-id]")
    _typing_reaches(jeanne, typist=nadia)


def _seen(page, state: str) -> None:
    """The page becomes hidden or visible as a locked phone or a tab in the background does
    (headless Chromium keeps every page visible: the property is set, the event is real)."""
    page.evaluate(
        """state => {
            Object.defineProperty(document, "visibilityState", {configurable: true,
                                                                get: () => state});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_hidden_page_is_not_told_who_is_typing(phone, live_server):
    """Jeanne's phone locks on the conversation: Nadia's typing reaches Claire, not Jeanne's
    socket. Unlocked, Jeanne sees it again."""
    jeanne, nadia, claire = (phone(live_server.url) for _ in range(3))
    received = socket_frames(jeanne, "framereceived")
    for page, account in ((jeanne, JEANNE), (nadia, NADIA), (claire, CLAIRE)):
        open_demo_conversation(page, account)

    _seen(jeanne, "hidden")
    _typing_misses(jeanne, received, typist=nadia, witness=claire)

    _seen(jeanne, "visible")
    _typing_reaches(jeanne, typist=nadia)
