from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def page_serializer_build(*, item_serializer: type[serializers.Serializer], name: str) -> type:
    """A serializer describing one ``PagePagination`` page of ``item_serializer``.

    Views that paginate by hand use it in ``extend_schema`` so the OpenAPI
    schema shows the ``{count, next, previous, results}`` envelope.
    """
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
            "Meta": type("Meta", (), {"ref_name": name}),
        },
    )
