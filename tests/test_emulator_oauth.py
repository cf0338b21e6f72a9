"""The emulator's OAuth: consent page, code exchange, refresh tokens and their grace, bearer
checks."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

TOKEN_URL = "/oauth2/access_token"
REDIRECT = "http://localhost:8069/kommo/oauth/callback"
DAY = 86400


@pytest.fixture
def app(emulator):
    return emulator.register_app(redirect_uri=REDIRECT)


def post_token(emu, app, **params):
    body = {"client_id": app.client_id, "client_secret": app.client_secret, **params}
    return requests.post(emu.url + TOKEN_URL, json=body, timeout=10)


def exchange(emu, app, code):
    return post_token(emu, app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)


def refresh(emu, app, refresh_token):
    return post_token(emu, app, grant_type="refresh_token", refresh_token=refresh_token)


def account_status(emu, access_token):
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(emu.url + "/api/v4/account", headers=headers, timeout=10).status_code


def decoded(jwt_part):
    return json.loads(base64.urlsafe_b64decode(jwt_part + "=" * (-len(jwt_part) % 4)))


def redirect_query(answer):
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def decide(emu, app, decision, state="xyz"):
    form = {"client_id": app.client_id, "state": state, "decision": decision}
    return requests.post(emu.url + "/oauth/decision", data=form, allow_redirects=False, timeout=10)


def test_the_consent_page_offers_allow_and_deny(emulator, app):
    page = requests.get(emulator.authorize_url, params={"client_id": app.client_id, "state": "s1"})

    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "Allow" in page.text
    assert "Deny" in page.text


def test_the_consent_page_rejects_an_unknown_client_id(emulator, app):
    page = requests.get(emulator.authorize_url, params={"client_id": "nobody", "state": "s1"})

    assert page.status_code == 400


def test_allow_redirects_with_a_code_the_account_host_and_the_state(emulator, app):
    query = redirect_query(decide(emulator, app, "allow", state="st-42"))

    assert query["referer"] == emulator.host
    assert query["state"] == "st-42"
    assert exchange(emulator, app, query["code"]).status_code == 200


def test_deny_redirects_with_access_denied(emulator, app):
    query = redirect_query(decide(emulator, app, "deny", state="st-7"))

    assert query == {"error": "access_denied", "state": "st-7"}


def test_a_code_is_exchanged_for_a_bearer_token_pair(emulator, app):
    answer = exchange(emulator, app, emulator.issue_auth_code(app.client_id))

    tokens = answer.json()
    assert answer.status_code == 200
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == DAY
    assert tokens["refresh_token"]
    assert account_status(emulator, tokens["access_token"]) == 200


def test_the_token_endpoint_also_accepts_a_form_body(emulator, app):
    form = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "authorization_code",
        "code": emulator.issue_auth_code(app.client_id),
        "redirect_uri": REDIRECT,
    }

    answer = requests.post(emulator.url + TOKEN_URL, data=form, timeout=10)

    assert answer.status_code == 200


def test_an_access_token_is_a_jwt_with_expiry_and_account(emulator, app):
    token = emulator.issue_tokens(app.client_id)["access_token"]

    header, payload, signature = token.split(".")
    claims = decoded(payload)
    assert decoded(header)["typ"] == "JWT"
    assert claims["exp"] - claims["iat"] == DAY
    assert claims["account_id"] == emulator.account_id
    assert claims["api_domain"] == emulator.host
    assert signature


def test_a_code_works_only_once(emulator, app):
    code = emulator.issue_auth_code(app.client_id)
    exchange(emulator, app, code)

    again = exchange(emulator, app, code)

    assert again.status_code == 400
    assert again.json()["hint"] == "Authorization code has been revoked"


def test_a_code_expires_after_twenty_minutes(emulator, app):
    code = emulator.issue_auth_code(app.client_id)
    emulator.clock.advance(21 * 60)

    assert exchange(emulator, app, code).status_code == 400


def test_a_wrong_client_secret_is_refused(emulator, app):
    body = {
        "client_id": app.client_id,
        "client_secret": "not-the-secret",
        "grant_type": "authorization_code",
        "code": emulator.issue_auth_code(app.client_id),
    }

    answer = requests.post(emulator.url + TOKEN_URL, json=body, timeout=10)

    assert answer.status_code == 401
    assert "not-the-secret" not in answer.text


def test_a_refresh_gives_a_new_pair(emulator, app):
    first = emulator.issue_tokens(app.client_id)

    second = refresh(emulator, app, first["refresh_token"]).json()

    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert account_status(emulator, second["access_token"]) == 200


def assert_revoked(answer):
    assert answer.status_code == 401
    body = answer.json()
    assert body["hint"] == "Token has been revoked"
    assert body["title"] == "Unauthorized"
    assert body["status"] == 401


def test_the_old_refresh_token_works_until_the_new_pair_is_used(emulator, app):
    # Kommo's OAuth 2.0 page: the old refresh token "will still be functional and you can use
    # it until you use the new one" (the recovery from a refresh whose answer was lost).
    pair = emulator.issue_tokens(app.client_id)
    refresh(emulator, app, pair["refresh_token"])

    again = refresh(emulator, app, pair["refresh_token"])

    assert again.status_code == 200
    assert account_status(emulator, again.json()["access_token"]) == 200


def test_calling_the_api_with_the_new_pair_revokes_the_old_refresh_token(emulator, app):
    pair = emulator.issue_tokens(app.client_id)
    new = refresh(emulator, app, pair["refresh_token"]).json()
    assert account_status(emulator, new["access_token"]) == 200

    assert_revoked(refresh(emulator, app, pair["refresh_token"]))


def test_refreshing_with_the_new_refresh_token_revokes_the_old_one(emulator, app):
    pair = emulator.issue_tokens(app.client_id)
    new = refresh(emulator, app, pair["refresh_token"]).json()
    assert refresh(emulator, app, new["refresh_token"]).status_code == 200

    assert_revoked(refresh(emulator, app, pair["refresh_token"]))


def test_of_two_pairs_from_one_refresh_token_the_first_used_wins(emulator, app):
    pair = emulator.issue_tokens(app.client_id)
    first = refresh(emulator, app, pair["refresh_token"]).json()
    second = refresh(emulator, app, pair["refresh_token"]).json()

    assert account_status(emulator, second["access_token"]) == 200

    assert account_status(emulator, first["access_token"]) == 401
    assert_revoked(refresh(emulator, app, first["refresh_token"]))
    assert account_status(emulator, second["access_token"]) == 200


def test_refreshing_retires_the_old_access_token_by_default(emulator, app):
    pair = emulator.issue_tokens(app.client_id)

    refresh(emulator, app, pair["refresh_token"])

    assert account_status(emulator, pair["access_token"]) == 401


def test_with_the_old_access_grace_the_old_access_token_lives_until_the_new_pair_is_used(
    emulator, app
):
    emulator.oauth.old_access_grace = True  # the other reading of an UNCONFIRMED behaviour
    pair = emulator.issue_tokens(app.client_id)
    new = refresh(emulator, app, pair["refresh_token"]).json()
    assert account_status(emulator, pair["access_token"]) == 200

    account_status(emulator, new["access_token"])

    assert account_status(emulator, pair["access_token"]) == 401


def test_a_refresh_token_expires_after_three_months(emulator, app):
    pair = emulator.issue_tokens(app.client_id)
    emulator.clock.advance(91 * DAY)

    answer = refresh(emulator, app, pair["refresh_token"])

    assert answer.status_code == 401
    assert answer.json()["hint"] == "Token has expired"


def test_a_refresh_token_of_another_integration_is_refused(emulator, app):
    other = emulator.register_app()
    pair = emulator.issue_tokens(other.client_id)

    answer = refresh(emulator, app, pair["refresh_token"])

    assert answer.status_code == 401
    assert answer.json()["hint"] == "Token is not linked to client"


def test_an_api_call_without_a_token_is_unauthorized(emulator):
    answer = requests.get(emulator.url + "/api/v4/account", timeout=10)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["title"] == "Unauthorized"


def test_an_access_token_expires_after_a_day(emulator, app):
    token = emulator.issue_tokens(app.client_id)["access_token"]
    emulator.clock.advance(DAY + 1)

    assert account_status(emulator, token) == 401


def test_a_long_lived_token_works_until_its_last_day(emulator):
    token = emulator.issue_long_lived_token(days=30)
    emulator.clock.advance(29 * DAY)
    assert account_status(emulator, token) == 200

    emulator.clock.advance(2 * DAY)

    assert account_status(emulator, token) == 401


def test_token_calls_do_not_use_up_the_rate_limit(emulator, app, emulator_http):
    for _ in range(10):
        exchange(emulator, app, emulator.issue_auth_code(app.client_id))

    assert emulator_http(emulator).get("/api/v4/account").status_code == 200


def test_the_repr_of_an_app_hides_its_secret(emulator, app):
    assert app.client_secret not in repr(app)
