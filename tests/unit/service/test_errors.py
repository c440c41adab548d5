"""The one mapping from error codes to HTTP statuses."""

from __future__ import annotations

import inspect

import pytest

from hanvoice import errors
from hanvoice.service.errors import STATUS, error_response, status_for

DOMAIN_ERRORS = [
    c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.HanvoiceError)
]


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda c: c.__name__)
def test_client_errors_are_4xx_and_others_5xx(cls: type[errors.HanvoiceError]) -> None:
    status = STATUS.get(cls.code, 400 if cls.client_error else 500)
    if cls.client_error:
        assert 400 <= status < 500, cls
    else:
        assert status >= 500 or cls.code in STATUS, cls


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.EmptyText("x"), 400),
        (errors.TextTooLong("x"), 413),
        (errors.UnknownEmotion("x"), 400),
        (errors.VoiceNotFound("x"), 404),
        (errors.InvalidParameter("x"), 400),
        (errors.EngineError("x"), 500),
        (errors.Overloaded("x", retry_after=2.5), 503),
    ],
)
def test_status_for(exc: errors.HanvoiceError, status: int) -> None:
    assert status_for(exc) == status


def test_body_shape_and_retry_after() -> None:
    r = error_response(errors.Overloaded("busy", retry_after=2.5))
    assert r.status_code == 503 and r.headers["retry-after"] == "3"
    assert r.body == b'{"error":{"code":"overloaded","message":"busy"}}'
