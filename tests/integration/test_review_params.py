"""Every integer and date parameter of every review-app route, walked with hostile values: 4xx, never 5xx.

An outside probe got HTTP 500 from ``turn_no=9999…``, ``page=9999…`` and their kin (SQLite
overflow, date arithmetic past year 9999). The routes and their parameters are read from the
app's own OpenAPI description (built from the route declarations, though never served), so a
parameter added later is walked without anyone remembering to add it here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from review_world import SID, login, review_app

from vtm.config import Settings, load_settings

HUGE = "9" * 30
INT_VALUES = [
    HUGE,
    str(2**63),  # one past SQLite's INTEGER
    str(2**31),  # one past PostgreSQL's integer
    "100001",
    "-1",
    "-" + HUGE,
    "9" * 5000,  # past Python's int-from-text digit limit
    "abc",
    "1e3",
    "1.5",
    "0x10",
    "１２",  # full-width digits
    "²",  # str.isdigit() says yes, int() says no
    "NaN",
]
DATE_VALUES = [
    "9999-12-31",  # plus a day overflows
    "0001-01-01",  # midnight in Asia/Shanghai is before year 1 in UTC
    "2101-01-01",
    "1999-12-31",
    "99999-01-01",
    "-2020-01-01",
    "2026-02-30",
    "2026-1-1",
    "yesterday",
    HUGE,
    "-" + HUGE,
]
BLANKS = ["", " "]
# Values a walked request gives the other parameters, so that only the walked one is wrong.
PATH_DEFAULTS = {"session_id": SID, "turn_no": "2", "position": "0"}
FORM_DEFAULTS = {"tag": "walk", "text": "walk", "field": "user", "reason": "walking the parameters"}
# What the walk must find, at least: proof that reading the routes works.
KNOWN = {
    ("GET", "/sessions", "query", "page"),
    ("GET", "/sessions", "query", "date_from"),
    ("GET", "/sessions", "query", "date_to"),
    ("GET", "/dashboard", "query", "days"),
    ("GET", "/sessions/{session_id}/turns/{turn_no}/audio", "path", "turn_no"),
    ("POST", "/sessions/{session_id}/turns/{turn_no}/unmask", "path", "turn_no"),
    ("POST", "/sessions/{session_id}/tags", "form", "turn_no"),
    ("POST", "/sessions/{session_id}/tags/delete", "form", "turn_no"),
    ("POST", "/sessions/{session_id}/notes", "form", "turn_no"),
    ("POST", "/sessions/{session_id}/turns/{turn_no}/answers/{position}/mark", "path", "turn_no"),
    ("POST", "/sessions/{session_id}/turns/{turn_no}/answers/{position}/mark", "path", "position"),
}


@dataclass(frozen=True)
class Param:
    method: str
    path: str
    where: str  # "path", "query" or "form"
    name: str
    kind: str  # "int" or "date"
    required_form: tuple[str, ...]  # the route's required form fields


def _kind(schema: dict[str, Any]) -> str | None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "integer":
            return "int"
        if branch.get("type") == "string" and branch.get("format") in ("date", "date-time"):
            return "date"
    return None


def _numeric_and_date_params(spec: dict[str, Any]) -> list[Param]:
    found: list[Param] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            form: dict[str, Any] = {}
            required: tuple[str, ...] = ()
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content["schema"]["$ref"].rsplit("/", 1)[1]
                component = spec["components"]["schemas"][ref]
                form, required = component["properties"], tuple(component.get("required", ()))
            declared = [(p["in"], p["name"], p["schema"]) for p in operation.get("parameters", [])]
            declared += [("form", name, schema) for name, schema in form.items()]
            for where, name, schema in declared:
                kind = _kind(schema)
                if kind is not None:
                    found.append(Param(method.upper(), path, where, name, kind, required))
    return found


@pytest.fixture
def admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str]]:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    settings: Settings = load_settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    with TestClient(review_app(settings), raise_server_exceptions=False) as client:
        yield client, login(client, "ada")  # admin: every role-gated route is reached


def _send(client: TestClient, csrf: str, param: Param, value: str) -> int:
    path_values = dict(PATH_DEFAULTS)
    query: dict[str, str] = {}
    form = {"csrf_token": csrf}
    for name in param.required_form:
        if name not in form and name != param.name:
            assert name in FORM_DEFAULTS, f"{param.method} {param.path}: give form field {name!r} a value here"
            form[name] = FORM_DEFAULTS[name]
    if param.where == "path":
        path_values[param.name] = value
    elif param.where == "query":
        query[param.name] = value
    else:
        form[param.name] = value
    url = param.path.format(**path_values)
    if param.method == "GET":
        return client.get(url, params=query, follow_redirects=False).status_code
    return client.post(url, params=query, data=form, follow_redirects=False).status_code


def test_no_integer_or_date_parameter_can_make_the_app_fail(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    params = _numeric_and_date_params(client.app.openapi())  # type: ignore[attr-defined]
    assert {(p.method, p.path, p.where, p.name) for p in params} >= KNOWN
    problems: list[str] = []
    for param in params:
        hostile = INT_VALUES if param.kind == "int" else DATE_VALUES
        for value in hostile + BLANKS:
            status = _send(client, csrf, param, value)
            blank = value in BLANKS
            if status >= 500 or (not blank and not 400 <= status < 500):
                problems.append(f"{param.method} {param.path} {param.where} {param.name}={value[:40]!r}: {status}")
    assert not problems, "\n".join(problems)


def test_an_out_of_range_value_gets_an_html_page_naming_the_parameter_not_echoing_it(
    admin: tuple[TestClient, str],
) -> None:
    client, _ = admin
    client.get("/lang/en")
    response = client.get("/sessions", params={"page": "987654321987654321987", "date_to": "9999-12-31"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert '<p class="error" data-testid="error">Invalid or out-of-range value: date_to, page</p>' in response.text


def test_without_a_login_a_bad_parameter_still_just_leads_to_the_login_page(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    client.cookies.clear()
    response = client.get("/sessions", params={"page": HUGE}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_in_range_values_still_work(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    listed = client.get("/sessions", params={"date_from": "2026-11-23", "date_to": "2026-11-23", "page": "1"})
    assert listed.status_code == 200
    assert f'data-session="{SID}"' in listed.text
    blank_form = dict.fromkeys(
        ["date_from", "date_to", "kiosk", "language", "outcome", "transaction", "verdict", "q"], ""
    )
    empty_filters = client.get("/sessions", params=blank_form)  # the filter form, submitted untouched
    assert f'data-session="{SID}"' in empty_filters.text
    assert client.get("/dashboard", params={"days": "90"}).status_code == 200
    assert client.get(f"/sessions/{SID}/turns/2/audio").status_code == 200
    tagged = client.post(f"/sessions/{SID}/tags", data={"csrf_token": csrf, "tag": "turn-two", "turn_no": "2"})
    assert tagged.status_code == 200
    assert "(#2)" in tagged.text


def test_the_typed_filters_still_select_and_refill_the_form(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    matching = {
        "outcome": "handed_off",
        "handed_off": "1",
        "language": "zh",
        "low_asr": "1",
        "verdict": "refer",
        "kiosk": "VTM-0001",
        "transaction": "card_loss",
        "date_from": "2026-11-23",
    }
    page = client.get("/sessions", params=matching).text
    assert f'data-session="{SID}"' in page
    assert 'value="2026-11-23"' in page
    assert 'name="handed_off" value="1" checked' in page
    assert f'data-session="{SID}"' not in client.get("/sessions", params={**matching, "language": "en"}).text
    assert f'data-session="{SID}"' not in client.get("/sessions", params={"date_from": "2026-11-24"}).text
