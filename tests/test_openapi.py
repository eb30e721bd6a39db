"""The OpenAPI schema is valid and generates without a single warning."""

from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    schema_path = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_path))

    schema = schema_path.read_text()
    assert "ProductPage:" in schema
    assert "ShowStatusEnum:" in schema
