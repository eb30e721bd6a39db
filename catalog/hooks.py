"""Where catalog calls up into shows without importing it (docs/architecture.md, "Layers").

catalog is below shows, yet three of its writes and one of its reads need shows: a stock change
and a product edit must reach the live shows pinning the product, a cart line credited to a
show is charged the show's price while it applies, and a shop's order is credited to the show
and pin its parameters name. catalog states here what it needs, as four callables with no-op
defaults (with no show above it, no one is told, nothing is discounted, nothing is credited);
shows installs its implementations once, from ``ShowsConfig.ready()``. Catalog code calls them
through ``catalog_hooks()``, so it never imports shows. A system check (``catalog.E001``)
fails when shows is installed and its hooks are not, so a wiring mistake cannot silently stop
stock events and show prices.
"""

import dataclasses
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, Protocol

from django.apps import apps
from django.core import checks

from catalog.models import Variant


@dataclasses.dataclass(frozen=True)
class Attribution:
    """The show (and pin) a sale is credited to: ids for catalog's attribution columns."""

    show_id: int
    pin_id: int | None


@dataclasses.dataclass(frozen=True)
class CartShowPrices:
    """What the shows above say about a cart's credited lines.

    ``show_ids``: the lines' shows that exist; a line keeps its credit only to one of them.
    ``prices``: the show price due now per ``(show_id, product_id)``, only where it applies.
    """

    show_ids: frozenset[int]
    prices: Mapping[tuple[int, int], Decimal]


class StockChanged(Protocol):
    """Inside the transaction that changed ``variant``'s stock (loaded with its product and
    storefront) from ``previous_quantity``; returns how many shows were told."""

    def __call__(self, *, variant: Variant, previous_quantity: int) -> int: ...


class ProductsChanged(Protocol):
    """After products' fields (title, price, options) changed; returns how many cards went out."""

    def __call__(self, *, product_ids: Collection[int]) -> int: ...


class CartPrices(Protocol):
    """For the ``(show_id, product_id)`` of each credited cart line (possibly none)."""

    def __call__(self, *, lines: Collection[tuple[int, int]]) -> CartShowPrices: ...


class AttributionResolve(Protocol):
    """For a shop's unverified attribution parameters of a line of ``product_id`` (None when
    the SKU is unknown); None credits nothing."""

    def __call__(
        self, *, show_public_id: str, pin_id: Any, product_id: int | None
    ) -> Attribution | None: ...


def _no_stock_listener(*, variant: Variant, previous_quantity: int) -> int:
    return 0


def _no_products_listener(*, product_ids: Collection[int]) -> int:
    return 0


def _no_show_prices(*, lines: Collection[tuple[int, int]]) -> CartShowPrices:
    return CartShowPrices(show_ids=frozenset(), prices={})


def _no_attribution(*, show_public_id: str, pin_id: Any, product_id: int | None) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class CatalogHooks:
    stock_changed: StockChanged = _no_stock_listener
    products_changed: ProductsChanged = _no_products_listener
    cart_prices: CartPrices = _no_show_prices
    attribution_resolve: AttributionResolve = _no_attribution


_hooks = CatalogHooks()
_installed: CatalogHooks | None = None


def catalog_hooks() -> CatalogHooks:
    """The hooks in force: the installed ones, else the no-op defaults."""
    return _hooks


def catalog_hooks_install(hooks: CatalogHooks) -> None:
    """Install the one set of hooks; called once, from ``ShowsConfig.ready()``.

    Installing the same hooks again is a no-op (Django may run ``ready()`` twice); installing
    other hooks over them raises ``RuntimeError``: two apps answering for shows would each
    see only half of catalog's events.
    """
    global _hooks, _installed
    if _installed is not None and _installed != hooks:
        raise RuntimeError("catalog hooks are installed already; install them once.")
    _hooks = _installed = hooks


def catalog_hooks_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: shows installed means its catalog hooks are installed too."""
    if apps.is_installed("shows") and _installed is None:
        return [
            checks.Error(
                "shows is installed but did not install its catalog hooks: stock changes and"
                " product edits would not reach live shows, carts would ignore show prices.",
                hint="Call catalog.hooks.catalog_hooks_install() from ShowsConfig.ready().",
                id="catalog.E001",
            )
        ]
    return []
