"""Row locks of the catalog, in liveshop's one lock order (docs/architecture.md, "Lock order").

Stock changes lock variant rows and then announce the new stock to live shows,
which locks each show's room row for its seq. A transaction that changes
several variants therefore locks all of them first, by primary key, before
the first announcement: taking a variant after a room would wait on a buyer
who holds that variant and waits for the room.
"""

from collections.abc import Iterable

from catalog.models import Variant


def variants_lock(*, variant_ids: Iterable[int]) -> list[int]:
    """Lock the variant rows (``FOR NO KEY UPDATE``) by primary key; their ids in that order."""
    return list(
        Variant.objects.filter(pk__in=set(variant_ids))
        .order_by("pk")
        .select_for_update(of=("self",), no_key=True)
        .values_list("pk", flat=True)
    )
