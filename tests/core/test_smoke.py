def test_sign_in_page_renders(client):
    response = client.get("/accounts/sign-in")
    assert response.status_code == 200
    assert b"password" in response.data


def test_password_sign_in_reaches_home(client, make_user, login):
    user = make_user("patient", display_name="Jeanne")
    login(client, user)
    response = client.get("/home")
    assert response.status_code == 200
    assert "Jeanne" in response.get_data(as_text=True)


def test_home_requires_sign_in(client):
    response = client.get("/home")
    assert response.status_code == 302
    assert "/accounts/sign-in" in response.headers["Location"]
