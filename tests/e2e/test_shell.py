from tests.e2e.conftest import sign_in_with_password


def test_demo_patient_signs_in_with_password(page):
    sign_in_with_password(page, "jeanne@demo.healthspace.test", "jeanne-demo-2026")
    assert page.locator("h1").inner_text().startswith("Hello")
    assert page.locator("nav.tabbar").is_visible()
