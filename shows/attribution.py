"""Which show and pin a shop's order line is credited to (installed as a catalog hook)."""

import re
from typing import Any

from catalog.hooks import Attribution
from shows.models import Show, ShowPin

# What ``shows.models.public_id_generate`` produces; anything else names no show.
_PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")


def attribution_resolve(
    *, show_public_id: str, pin_id: Any, product_id: int | None
) -> Attribution | None:
    """The show (and pin) a purchase of ``product_id`` is credited to, or None.

    The parameters come from URLs and shops, so they are checked: the show
    must exist and the pin must be of that show and of the same product,
    else only the show is credited. One or two queries.
    """
    if not isinstance(show_public_id, str) or not _PUBLIC_ID_RE.fullmatch(show_public_id):
        return None
    show_id = Show.objects.filter(public_id=show_public_id).values_list("pk", flat=True).first()
    if show_id is None:
        return None
    try:
        pin_pk = int(pin_id)
    except (TypeError, ValueError):
        return Attribution(show_id=show_id, pin_id=None)
    pin_ok = (
        product_id is not None
        and ShowPin.objects.filter(pk=pin_pk, show_id=show_id, product_id=product_id).exists()
    )
    return Attribution(show_id=show_id, pin_id=pin_pk if pin_ok else None)
