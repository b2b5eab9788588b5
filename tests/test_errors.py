"""One error hierarchy (geo/errors.py) with one mapping to HTTP status and CLI exit code, answered by the API over
HTTP through one path (api/errors.py), the 413 of the body-size middleware included."""

from __future__ import annotations

import inspect

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import geo.errors as errors
from api.errors import PROBLEM_JSON, install_error_handlers
from api.middleware import BodySizeLimit

EXPECTED = {
    "InputError": (422, True),
    "OutsideError": (422, True),
    "DataError": (422, True),
    "NotFoundError": (404, True),
    "PermissionDenied": (403, True),
    "Unauthenticated": (401, True),
    "ConflictError": (409, True),
    "MalformedRequest": (400, True),
    "PayloadTooLarge": (413, True),
    "UnsupportedMediaType": (415, True),
    "ConfigError": (500, False),
    "SchemaError": (500, False),
    "SolverError": (500, False),
    "DatabaseError": (503, False),
    "FetchError": (502, True),
}
SECRET = "password=hunter2 in /etc/opvangmatch"


def _classes() -> dict[str, type[errors.OpvangmatchError]]:
    return {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.OpvangmatchError) and cls is not errors.OpvangmatchError
    }


def _make(cls, message: str):
    return cls("data.csv", message) if cls is errors.DataError else cls(message)


def test_every_error_class_is_mapped_once():
    assert set(_classes()) == set(EXPECTED)  # a new class must be given its status here, on purpose
    for name, cls in _classes().items():
        status, public = EXPECTED[name]
        error = _make(cls, "x")
        assert (errors.http_status(error), error.public) == (status, public), name
        assert errors.exit_code(error) == 2, name  # the command line ends every domain error alike


def _app(raised: errors.OpvangmatchError) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=100)

    @app.post("/raise")
    def _raise():
        raise raised

    return TestClient(app)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_api_answers_each_class_with_its_status_and_hides_server_faults(name):
    cls = _classes()[name]
    response = _app(_make(cls, SECRET)).post("/raise")
    status, public = EXPECTED[name]
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["title"] == cls.title
    assert (SECRET in body["detail"]) is public  # a configuration or schema fault is logged, not shown


def test_a_conflict_keeps_its_extra_members():
    response = _app(errors.ConflictError("stale", current_version=7)).post("/raise")
    assert response.status_code == 409 and response.json()["current_version"] == 7


def test_a_body_over_the_limit_is_answered_through_the_common_path():
    client = _app(errors.InputError("never reached"))
    response = client.post("/raise", content=b"x" * 101, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["title"] == errors.PayloadTooLarge.title and body["status"] == 413 and "limit is 100" in body["detail"]
    bad = client.post("/raise", content=b"{}", headers={"content-length": "ten", "content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["title"] == errors.MalformedRequest.title
