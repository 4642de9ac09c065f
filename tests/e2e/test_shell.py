from tests.e2e.conftest import sign_in_with_password


def test_demo_patient_signs_in_with_password(page):
    sign_in_with_password(page, "jeanne@demo.healthspace.test", "jeanne-demo-2026")
    # Jeanne's account is in French: once signed in, her language wins over the browser's.
    assert page.locator("h1").inner_text() == "Bonjour, Jeanne Martin"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("nav.tabbar").is_visible()
