"""How Kommo's answers become exceptions (kommo_api.errors)."""

import json

import pytest

from kommo_api.errors import (
    KommoAuthError,
    KommoBlocked,
    KommoConnectionError,
    KommoError,
    KommoForbidden,
    KommoNotFound,
    KommoPaymentRequired,
    KommoRateLimited,
    KommoServerError,
    KommoTimeout,
    KommoTokenExpired,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    KommoValidationError,
    ValidationIssue,
    error_for_response,
    excerpt,
    redact,
)

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"

VALIDATION_BODY = {
    "validation-errors": [
        {
            "request_id": "0",
            "errors": [
                {
                    "code": "NotSupportedChoice",
                    "path": "custom_fields_values.0.field_id",
                    "detail": "The value you selected is not a valid choice.",
                }
            ],
        },
        {
            "request_id": "3",
            "errors": [
                {"code": "InvalidType", "path": "price", "detail": "This value should be int."},
                {"code": "NotBlank", "path": "name", "detail": "Should not be blank."},
            ],
        },
    ],
    "title": "Bad Request",
    "type": "https://httpstatus.es/400",
    "status": 400,
    "detail": "Request validation failed",
}


def problem(status, **extra):
    return json.dumps({"title": "Problem", "status": status, **extra})


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, problem(401, title="Unauthorized"), KommoTokenExpired),
        (401, "Unauthorized", KommoTokenExpired),
        (402, problem(402, title="Payment Required"), KommoPaymentRequired),
        (403, problem(403, title="Forbidden"), KommoForbidden),
        (403, "", KommoForbidden),
        (404, problem(404, title="Not Found"), KommoNotFound),
        (429, "Too Many Requests", KommoRateLimited),
        (500, problem(500), KommoServerError),
        (502, "<html>Bad gateway</html>", KommoServerError),
        (504, "", KommoServerError),
        (418, "teapot", KommoError),
    ],
)
def test_status_maps_to_its_exception_class(status, body, expected):
    error = error_for_response(status, body)

    assert type(error) is expected
    assert error.status == status


def test_403_with_an_html_page_means_the_account_is_blocked():
    html = "<!DOCTYPE html><html><body>Your account has been blocked</body></html>"

    error = error_for_response(403, html.encode(), content_type="text/html; charset=utf-8")

    assert isinstance(error, KommoBlocked)
    assert isinstance(error, KommoForbidden)
    assert "<html" not in error.message


def test_403_html_is_recognised_even_without_a_content_type():
    assert isinstance(error_for_response(403, b"  <html><body>blocked"), KommoBlocked)


def test_401_saying_the_token_was_revoked_is_a_revocation():
    body = json.dumps({"hint": "Token has been revoked", "title": "Unauthorized", "status": 401})

    assert isinstance(error_for_response(401, body), KommoTokenRevoked)


def test_401_invalid_grant_is_a_revocation():
    body = json.dumps({"error": "invalid_grant", "message": "The refresh token is invalid."})

    assert isinstance(error_for_response(401, body), KommoTokenRevoked)


def test_auth_errors_share_a_base_class():
    assert issubclass(KommoTokenExpired, KommoAuthError)
    assert issubclass(KommoTokenRevoked, KommoAuthError)


@pytest.mark.parametrize(
    ("error_class", "retry_safe"),
    [
        (KommoRateLimited, True),
        (KommoServerError, True),
        (KommoTimeout, True),
        (KommoConnectionError, True),
        (KommoValidationError, False),
        (KommoTokenExpired, False),
        (KommoBlocked, False),
        (KommoPaymentRequired, False),
        (KommoUnexpectedResponse, False),
    ],
)
def test_retry_safety_is_known_per_class(error_class, retry_safe):
    assert error_class().retry_safe is retry_safe


def test_validation_errors_become_issues_per_request_id():
    error = error_for_response(400, json.dumps(VALIDATION_BODY))

    assert isinstance(error, KommoValidationError)
    assert error.issues[0] == ValidationIssue(
        request_id="0",
        code="NotSupportedChoice",
        path="custom_fields_values.0.field_id",
        detail="The value you selected is not a valid choice.",
    )
    assert error.messages_for("3") == [
        "price: This value should be int. (InvalidType)",
        "name: Should not be blank. (NotBlank)",
    ]
    assert error.messages_for(7) == []


def test_validation_error_text_names_the_rejected_items_and_fields():
    text = str(error_for_response(400, json.dumps(VALIDATION_BODY)))

    assert "Request validation failed" in text
    assert "[0] custom_fields_values.0.field_id" in text
    assert "[3] price: This value should be int." in text


def test_422_is_a_validation_error_too():
    assert isinstance(error_for_response(422, problem(422)), KommoValidationError)


def test_validation_error_without_a_json_body_still_reads_well():
    error = error_for_response(400, b"\xff\xfe not json at all")

    assert isinstance(error, KommoValidationError)
    assert error.issues == []
    assert "not json at all" in error.message


def test_validation_error_ignores_malformed_entries():
    body = {"validation-errors": ["junk", {"request_id": 1, "errors": ["junk", {"code": "X"}]}]}

    error = error_for_response(400, json.dumps(body))

    assert error.issues == [ValidationIssue("1", "X", None, None)]
    assert error.messages_for(1) == ["X"]


def test_remapping_request_ids_renames_issues_and_message():
    error = error_for_response(400, json.dumps(VALIDATION_BODY))

    error.remap_request_ids({"0": "order-17", "3": "53"})

    assert error.messages_for("order-17") == [
        "custom_fields_values.0.field_id: The value you selected is not a valid choice. "
        "(NotSupportedChoice)"
    ]
    assert "[53] price" in str(error)
    assert "[0]" not in str(error)


def test_many_validation_issues_are_summarised():
    body = {
        "validation-errors": [
            {"request_id": str(i), "errors": [{"code": "NotBlank", "path": "name"}]}
            for i in range(25)
        ]
    }

    error = error_for_response(400, json.dumps(body))

    assert len(error.issues) == 25
    assert "and 15 more" in str(error)


def test_429_reads_retry_after_when_kommo_sends_one():
    assert error_for_response(429, "slow down", retry_after="3").retry_after == 3.0
    assert error_for_response(429, "slow down", retry_after="soon").retry_after is None
    assert error_for_response(429, "slow down").retry_after is None


def test_long_bodies_are_truncated_in_messages():
    error = error_for_response(500, "server trouble " * 1000)

    assert len(error.message) < 400
    assert error.message.endswith("…")


def test_messages_never_quote_a_token():
    body = json.dumps({"title": "Unauthorized", "detail": f"token {JWT} is not valid"})

    error = error_for_response(401, body)

    assert JWT not in str(error)
    assert JWT not in repr(error)
    assert "***" in str(error)


def test_redact_masks_named_secrets_and_token_like_text():
    text = redact(f"secret=s3cr3t-value jwt={JWT} long={'a' * 80}", secrets=["s3cr3t-value", None])

    assert text == "secret=*** jwt=*** long=***"


def test_excerpt_is_one_line():
    assert excerpt(b"line one\n\n  line two") == "line one line two"
    assert excerpt(None) == ""


def test_request_id_is_carried_on_the_error():
    error = error_for_response(500, "", request_id="abc-123")

    assert error.request_id == "abc-123"


def test_an_error_without_a_message_has_a_readable_default():
    assert str(KommoTimeout()) == "Kommo did not answer in time"
    assert KommoNotFound().status is None
