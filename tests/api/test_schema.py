from django.core.management import call_command


def test_schema_is_served_and_lists_every_endpoint(world, api):
    response = api(world.alice).get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    for path in [
        "/api/components/",
        "/api/components/{slug}/",
        "/api/submissions/",
        "/api/submissions/{id}/",
        "/api/submissions/{id}/refresh/",
        "/api/submissions/{id}/resubmit/",
        "/api/tickets/",
        "/api/tickets/{id}/",
        "/api/tickets/{id}/signoff/",
    ]:
        assert f"{path}:" in text, path
    assert "SignOffCreate" in text


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (untyped field, enum name
    # collision, unresolvable path parameter) into a failure.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/tickets/{id}/signoff/" in target.read_text()
