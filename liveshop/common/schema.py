"""OpenAPI schema generation: every operation declares the error shape it can answer.

Any request can meet an error before its view runs: a bad or expired token (401),
an unknown path (404), a malformed body (400), a role without access (403). The
schema names these answers for every operation, with the one error body of
``liveshop.common.exception_handler``, so a client generated from it expects them.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {},
        "description": "Field name to its messages (a list, or a nested object of lists).",
    }
)
class _FieldErrorsField(serializers.DictField):
    pass


class ErrorSerializer(serializers.Serializer):
    """The REST error body: validation errors add "fields", throttling "retry_after"."""

    class Meta:
        ref_name = "Error"

    detail = serializers.CharField()
    code = serializers.CharField()
    # DRF's metaclass takes declared fields off the class, so this does not hide
    # Serializer.fields at run time; the stubs cannot know that.
    fields = _FieldErrorsField(required=False)  # type: ignore[assignment]
    retry_after = serializers.IntegerField(required=False)


ERROR_DESCRIPTION = 'Error: {"detail", "code"} (validation errors add "fields").'
ERROR_RESPONSE = OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTION)
# What any operation can answer, whatever its view declares.
COMMON_ERROR_CODES = ("400", "401", "403", "404")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the error responses every operation has."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = {code for code in responses if code.startswith(("4", "5"))}
        for code in sorted(codes | set(COMMON_ERROR_CODES)):
            responses[code] = self._get_response_for_code(
                ERROR_RESPONSE, code, media_types=["application/json"], direction=direction
            )
        return responses
