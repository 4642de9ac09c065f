from tests.e2e.conftest import sign_in_with_password


def test_demo_patient_signs_in_with_password(page):
    sign_in_with_password(page, "jeanne@demo.healthspace.test", "jeanne-demo-2026")
    # Jeanne's account is in French: once signed in, her language wins over the browser's.
    assert page.locator("h1").inner_text() == "Bonjour, Jeanne Martin"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("nav.tabbar").is_visible()


def test_checkboxes_and_links_on_their_own_line_are_full_size_tap_targets(page):
    # 44 px: the size a finger needs, and what an elderly person with a shaky hand needs most.
    sign_in_with_password(page, "claire@demo.healthspace.test", "claire-demo-2026")
    small = []
    for path, selector in (("/chat/", "label.check"), ("/chat/new", ".link-row > a"),
                           ("/agenda/calendar", ".link-row > a"),
                           ("/accounts/me", "label.check"),
                           ("/home", ".topbar .brand")):  # the way home: there is no Home tab
        page.goto(path)
        boxes = [b for b in page.locator(selector).evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {text: e.textContent.trim(), height: r.height}; })")]
        assert boxes, f"nothing matched {selector} on {path}"
        small += [(path, b) for b in boxes if b["height"] < 44]
    assert small == []


def test_the_messages_tab_says_how_many_are_unread_to_a_screen_reader(page):
    # "Messages 3" alone does not say what the 3 counts; with no badge, nothing is added.
    from playwright.sync_api import expect

    sign_in_with_password(page, "jeanne@demo.healthspace.test", "jeanne-demo-2026")
    tab = page.locator("nav.tabbar a[href='/chat/']")
    expect(tab.locator("#unread-badge")).to_be_visible()
    count = tab.locator("#unread-badge").inner_text()
    expect(tab).to_have_accessible_name(f"Messages , non lus\u202f: {count}")
    page.evaluate("document.getElementById('unread-badge').hidden = true")  # as chat-socket.js
    expect(tab).to_have_accessible_name("Messages")
