"""What shows installs into ``catalog.hooks`` (from ``ShowsConfig.ready()``).

catalog is below shows and cannot import it; through these hooks its stock changes and product
edits reach the live shows pinning the product, its carts are charged show prices, and shops'
orders are credited to shows and pins.
"""

from collections.abc import Collection

from catalog.hooks import CatalogHooks
from shows.attribution import attribution_resolve
from shows.pricing import cart_show_prices
from shows.selectors import pins_open_live
from shows.services import product_pins_refresh, variant_stock_announce


def product_cards_refresh(*, product_ids: Collection[int]) -> int:
    """Send fresh cards of those of ``product_ids`` pinned in a live show now; return how many.

    Catalog passes every product an import touched, which may be more ids than one query takes
    as parameters (SQLite), so the few products pinned in live shows now are read first and
    ``product_pins_refresh`` gets only those. Events go out after commit.
    """
    wanted = set(product_ids)
    if not wanted:
        return 0
    pinned = {
        product_id
        for product_id in pins_open_live().values_list("product_id", flat=True)
        if product_id in wanted
    }
    return product_pins_refresh(product_ids=sorted(pinned))


def shows_catalog_hooks() -> CatalogHooks:
    return CatalogHooks(
        stock_changed=variant_stock_announce,
        products_changed=product_cards_refresh,
        cart_prices=cart_show_prices,
        attribution_resolve=attribution_resolve,
    )
