import pytest

from core.models import AuditEvent
from governance.enums import Stage
from governance.models import Component
from tests.api.conftest import counts

NEW = {
    "name": "MQ Core",
    "slug": "mq-core",
    "description": "The message queue's client and core.",
    "license": "apache-2.0 or mit",
    "open_paths": ["core/**", "api/**"],
    "internal_paths": ["sharding/**"],
}


def test_create_component_makes_creator_the_owner_and_normalises_license(world, api):
    response = api(world.alice).post("/api/components/", NEW, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "mq-core"
    assert body["license"] == "Apache-2.0 OR MIT"
    assert body["owners"] == ["alice"]
    assert body["stage"] == Stage.DRAFT
    assert body["open_paths"] == ["core/**", "api/**"]
    assert body["internal_paths"] == ["sharding/**"]
    assert body["internal_repository"] is None
    component = Component.objects.get(slug="mq-core")
    assert list(component.owners.all()) == [world.alice]
    assert component.license == "Apache-2.0 OR MIT"
    assert AuditEvent.objects.filter(action="component.created").count() == 1


def test_component_is_visible_to_its_owner_and_the_admin_only(world, api):
    api(world.alice).post("/api/components/", NEW, format="json")

    assert api(world.alice).get("/api/components/mq-core/").json()["name"] == "MQ Core"
    assert api(world.bob).get("/api/components/mq-core/").status_code == 404
    assert api(world.bob).get("/api/components/no-such/").status_code == 404
    assert [c["slug"] for c in api(world.alice).get("/api/components/").json()["results"]] == [
        "mq-core"
    ]
    assert api(world.bob).get("/api/components/").json()["results"] == []
    assert api(world.admin).get("/api/components/").json()["count"] == 1


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"license": "Apache2"}, "license", "Apache2"),
        ({"license": "Apache-2.0 AND"}, "license", "not a valid SPDX"),
        ({"license": ""}, "license", "SPDX"),
        ({"open_paths": "core/**"}, "open_paths", "list"),
        ({"internal_paths": {"a": 1}}, "internal_paths", "list"),
        ({"open_paths": ["../secrets/**"]}, "open_paths", "'..'"),
        ({"open_paths": ["/etc/**"]}, "open_paths", "relative"),
        ({"open_paths": [1, {"x": 2}]}, "open_paths", ""),
        ({"name": ""}, "name", "name"),
        ({"name": "x" * 121}, "name", "120"),
        ({"name": {"x": 1}}, "name", ""),
        ({"slug": "not a slug"}, "slug", ""),
        ({"slug": "s" * 81}, "slug", "80"),
        ({"description": "d" * 10_001}, "description", ""),
        ({"license": None}, "license", "null"),
    ],
)
def test_bad_component_fields_are_400_with_the_field_named_and_nothing_written(
    world, api, change, field, fragment
):
    before = counts(Component, AuditEvent)

    response = api(world.alice).post("/api/components/", {**NEW, **change}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert fragment in " ".join(map(str, body[field]))
    assert counts(Component, AuditEvent) == before


def test_duplicate_slug_is_400_on_slug(world, api):
    api(world.alice).post("/api/components/", NEW, format="json")

    response = api(world.bob).post("/api/components/", {**NEW, "name": "Other"}, format="json")

    assert response.status_code == 400
    assert "already exists" in response.json()["slug"][0]
    assert Component.objects.get().name == "MQ Core"


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '"just a string"', "null"],
)
def test_malformed_body_is_400_not_500(world, api, body):
    response = api(world.alice).post("/api/components/", body, content_type="application/json")

    assert response.status_code == 400
    assert not Component.objects.exists()
