"""The served OpenAPI document: a valid OpenAPI 3.1 document, listing every route of the app
under /api and /open311, and describing what the app really answers (responses of real calls
validated against its schemas)."""

from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gridmap.app import create_app
from gridmap.services import apikeys as apikey_service
from gridmap.services import categories as category_service
from tests.conftest import STEP, X0, Y0

pytestmark = pytest.mark.db

CELL_W1 = (X0 + STEP / 2, Y0 + STEP / 4)


@pytest.fixture
def client(settings, database, load_small_grid):
    category_service.load_categories(database, settings, "cn")
    return create_app(settings, database=database).test_client()


def _schema_check(document, pointer, value):
    """Validate ``value`` against the schema at JSON pointer ``pointer`` of the document."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:gridmap-openapi", resource)
    validator = Draft202012Validator({"$ref": f"urn:gridmap-openapi#{pointer}"}, registry=registry)
    errors = sorted(validator.iter_errors(value), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _flask_rule_to_openapi(rule: str) -> str:
    rule = re.sub(r"<any\([^)]*\):fmt>", "{format}", rule)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_document_is_valid_and_served_in_both_forms(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = served.get_json()
    validate(document)
    as_yaml = client.get("/api/v1/openapi.yaml")
    assert as_yaml.mimetype == "application/yaml"
    assert yaml.safe_load(as_yaml.data) == document


def test_every_route_is_documented_with_its_methods(client):
    app = client.application
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/open311/")):
            continue
        path = _flask_rule_to_openapi(rule.rule)  # the view's argument names the parameter
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    path_names = {p for p, _ in routes}
    missing = routes - documented
    assert not missing, missing
    stale = {(p, m) for p, m in documented if p not in path_names}
    assert not stale, stale


def test_real_answers_match_the_schemas(client, database):
    document = client.get("/api/v1/openapi.json").get_json()
    located = client.get(f"/api/v1/locate?lon={CELL_W1[0]}&lat={CELL_W1[1]}")
    _schema_check(document, "/components/schemas/Location", located.get_json())
    unit = client.get("/api/v1/units/320101001")
    _schema_check(document, "/components/schemas/UnitFeature", unit.get_json())
    issue = client.post(
        "/api/v1/issues",
        json={"category": "E0101", "lon": CELL_W1[0], "lat": CELL_W1[1], "description": "垃圾"},
    )
    assert issue.status_code == 201
    _schema_check(document, "/components/schemas/Issue", issue.get_json())
    triage = client.post("/api/v1/issues", json={"category": "E0101", "lon": 100.0, "lat": 30.0})
    _schema_check(document, "/components/schemas/Issue", triage.get_json())
    error = client.post("/api/v1/issues", json={"category": "E0101"})
    assert error.status_code == 400
    _schema_check(document, "/components/schemas/Error", error.get_json())
    key = apikey_service.create_api_key(database, "schema test")[1]
    posted = client.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "E0101", "lat": CELL_W1[1], "long": CELL_W1[0]},
    )
    assert posted.status_code == 201
    for name in ("requests", "services"):
        pointer = f"/paths/~1open311~1v2~1{name}.{{format}}/get/responses/200/content/"
        answer = client.get(f"/open311/v2/{name}.json").get_json()
        assert answer
        _schema_check(document, pointer + "application~1json/schema", answer)
    _schema_check(
        document,
        "/components/schemas/Open311ServiceDefinition",
        client.get("/open311/v2/services/C0101.json").get_json(),
    )
