"""What every order shares, whoever places it (the demo cart or a shop's webhook)."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import models

from catalog.models import Order
from liveshop.common.exceptions import ApplicationError


def _largest_stored(field_name: str) -> Decimal:
    field = Order._meta.get_field(field_name)
    if not isinstance(field, models.DecimalField):
        raise TypeError(f"Order.{field_name} is not a DecimalField.")
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(
        -field.decimal_places
    )


# The largest total ``Order.total`` holds; PostgreSQL refuses anything above.
ORDER_TOTAL_MAX = _largest_stored("total")


class OrderTotalError(ApplicationError):
    default_code = "order_total_too_large"


def order_total(*, amounts: Iterable[Decimal]) -> Decimal:
    """The sum of ``amounts``, or ``OrderTotalError`` (400) beyond ``ORDER_TOTAL_MAX``. Pure."""
    total = sum(amounts, Decimal("0"))
    if total > ORDER_TOTAL_MAX:
        raise OrderTotalError(
            f"The order's total exceeds {ORDER_TOTAL_MAX}, the largest total stored."
        )
    return total
