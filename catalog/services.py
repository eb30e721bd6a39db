"""Writes of the catalog: stock, shop cart URLs, file import, shop webhooks, the demo cart."""

import csv
import dataclasses
import hmac
import io
import json
import re
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet

from catalog.hooks import catalog_hooks
from catalog.lock_objects import variants_lock
from catalog.models import (
    CartAddition,
    IncomingWebhook,
    LinkClick,
    Order,
    OrderLine,
    Product,
    ProductImage,
    Storefront,
    Variant,
    cart_url_template_validate,
)
from catalog.selectors import PricedLine, cart_lines_priced, variant_get_by_sku
from liveshop.common.exceptions import ApplicationError, ConflictError, NotFoundError
from liveshop.common.transactions import atomic_required

# PostgreSQL's integer column: anything above would fail inside the UPDATE.
MAX_STOCK_QUANTITY = 2_147_483_647
# The largest primary key (BigAutoField); a larger id names no row.
MAX_ROW_ID = 2**63 - 1
# Signs the click a demo cart add is credited to (see cart_line_add).
CART_CLICK_SALT = "liveshop.cart-add-click"
# The most of one variant a shop cart URL asks for (shows' signed links ask within it).
CART_URL_MAX_QUANTITY = 10_000
DEMO_CART_PATH = "/shop/cart/add"


class OutOfStockError(ConflictError):
    default_code = "out_of_stock"


class StockQuantityError(ApplicationError):
    default_code = "invalid_quantity"


# --- Stock -------------------------------------------------------------------------


def stock_change_announce(*, variant: Variant, previous_quantity: int) -> int:
    """Tell the apps above catalog that ``variant``'s stock changed from ``previous_quantity``.

    Must run inside the transaction that changed the stock (else ``RuntimeError``), so
    listeners announce only a change that commits. ``variant`` must come with its product and
    storefront. Delegates to ``catalog.hooks`` (shows: ``stock.changed`` to every live show
    pinning the product, when what viewers see changed). Returns how many shows were told.
    """
    atomic_required("stock_change_announce")
    return catalog_hooks().stock_changed(variant=variant, previous_quantity=previous_quantity)


def product_change_announce(*, product_ids: Collection[int]) -> int:
    """Tell the apps above catalog that these products' fields (title, price, options) changed.

    Delegates to ``catalog.hooks`` (shows: a fresh card, ``product.updated``, to every live
    show pinning one of them; events after commit). Any number of ids. Returns how many cards
    were sent.
    """
    return catalog_hooks().products_changed(product_ids=product_ids)


def _stock_rows(*, storefront: Storefront, sku: str) -> QuerySet[Variant]:
    # Resolve the scoped SKU first and update by primary key: with the join
    # in the UPDATE, Django writes "WHERE id IN (SELECT ...)", and PostgreSQL
    # does not re-check a subquery's stock condition after waiting for a
    # concurrent writer's row lock, so two buyers could both take the last unit.
    variant = variant_get_by_sku(storefront=storefront, sku=sku)
    return Variant.objects.filter(pk=variant.pk)


@transaction.atomic
def variant_stock_set(*, storefront: Storefront, sku: str, quantity: int) -> Variant:
    """Set the storefront's variant ``sku`` to an absolute stock ``quantity``.

    Locks the variant row and writes once. Raises ``StockQuantityError`` for
    a negative or oversized quantity and ``NotFoundError`` for an SKU of
    another storefront, before writing. Side effect: ``stock.changed`` to
    every live show pinning the product, when what viewers see changed.
    Returns the variant as stored afterwards.
    """
    if isinstance(quantity, bool) or not 0 <= quantity <= MAX_STOCK_QUANTITY:
        raise StockQuantityError(
            f"Stock quantity must be between 0 and {MAX_STOCK_QUANTITY}, not {quantity!r}."
        )
    rows = _stock_rows(storefront=storefront, sku=sku)
    variants_lock(variant_ids=rows.values_list("pk", flat=True))
    previous = rows.values_list("stock_quantity", flat=True).get()
    rows.update(stock_quantity=quantity)
    variant = rows.select_related("product__storefront").get()
    stock_change_announce(variant=variant, previous_quantity=previous)
    return variant


@transaction.atomic
def variant_stock_adjust(*, storefront: Storefront, sku: str, delta: int) -> Variant:
    """Add ``delta`` (negative to take units) to the variant's stock in one UPDATE.

    A decrement is conditional on enough units being left, so concurrent
    buyers of the last units can never drive stock below zero: the loser gets
    ``OutOfStockError`` ("out_of_stock") and nothing changes. ``NotFoundError``
    for an SKU of another storefront. Side effect: ``stock.changed`` to every
    live show pinning the product, when what viewers see changed. Returns the
    variant as stored afterwards.
    """
    if isinstance(delta, bool) or not -MAX_STOCK_QUANTITY <= delta <= MAX_STOCK_QUANTITY:
        raise StockQuantityError(f"Stock delta {delta!r} is out of range.")
    rows = _stock_rows(storefront=storefront, sku=sku)
    if delta < 0:
        guarded = rows.filter(stock_quantity__gte=-delta)
    else:
        guarded = rows.filter(stock_quantity__lte=MAX_STOCK_QUANTITY - delta)
    updated = guarded.update(stock_quantity=F("stock_quantity") + delta)
    variant = rows.select_related("product__storefront").get()
    if not updated:
        if delta < 0:
            raise OutOfStockError(
                f"Only {variant.stock_quantity} of {sku!r} left, cannot take {-delta}.",
                extra={"sku": sku, "available": variant.stock_quantity},
            )
        raise StockQuantityError(f"Adding {delta} to {sku!r} exceeds the largest stock.")
    stock_change_announce(variant=variant, previous_quantity=variant.stock_quantity - delta)
    return variant


# --- Cart links --------------------------------------------------------------------


def storefront_cart_url_build(*, storefront: Storefront, variant: Variant, quantity: int) -> str:
    """Return where to send a viewer to add ``quantity`` of ``variant`` to the shop's cart.

    Pure: reads nothing but its arguments. The demo kind gets a path inside
    liveshop, the others a URL on the shop. Raises ``ApplicationError`` for
    a quantity below one or a storefront missing what its kind needs.
    """
    if isinstance(quantity, bool) or not 1 <= quantity <= CART_URL_MAX_QUANTITY:
        raise ApplicationError(
            f"Quantity must be between 1 and {CART_URL_MAX_QUANTITY}.", code="invalid_quantity"
        )
    if storefront.kind == Storefront.Kind.DEMO:
        return f"{DEMO_CART_PATH}?{urlencode({'sku': variant.sku, 'quantity': quantity})}"

    base_url = storefront.base_url.rstrip("/")
    if not base_url:
        raise ApplicationError(
            f"Storefront {storefront.slug!r} has no base URL.", code="storefront_misconfigured"
        )
    variant_id = quote(variant.external_id, safe="")
    if storefront.kind in {Storefront.Kind.SHOPIFY, Storefront.Kind.WOOCOMMERCE} and not variant_id:
        raise ApplicationError(
            f"Variant {variant.sku!r} has no external id for the shop's cart.",
            code="storefront_misconfigured",
        )
    if storefront.kind == Storefront.Kind.SHOPIFY:
        return f"{base_url}/cart/{variant_id}:{quantity}"
    if storefront.kind == Storefront.Kind.WOOCOMMERCE:
        return f"{base_url}/?add-to-cart={variant_id}&quantity={quantity}"

    template = storefront.cart_url_template
    if not template:
        raise ApplicationError(
            f"Storefront {storefront.slug!r} has no cart URL template.",
            code="storefront_misconfigured",
        )
    try:
        cart_url_template_validate(template)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), code="storefront_misconfigured") from error
    return template.format(
        base_url=base_url,
        variant_id=variant_id,
        sku=quote(variant.sku, safe=""),
        quantity=quantity,
    )


# --- Import ------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "product_handle",
    "product_title",
    "description",
    "sku",
    "variant_title",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "price",
    "compare_at_price",
    "currency",
    "stock_quantity",
    "image_url",
    "external_id",
)
IMPORT_REQUIRED_COLUMNS = ("product_handle", "product_title", "sku", "price", "stock_quantity")
IMPORT_MAX_ROWS = 100_000
_MAX_PRICE = Decimal("99999999.99")
_HANDLE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
# Active ISO 4217 codes; a typo like "EUE" must not slip into prices.
ISO_4217_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
    ZMW ZWG
    """.split()
)


class CatalogImportFileError(ApplicationError):
    """The file as a whole cannot be read: wrong encoding, format or columns."""

    default_code = "invalid_import_file"


@dataclasses.dataclass(frozen=True)
class CatalogRowError:
    row: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.row}, column {self.column}: {self.message}"


class CatalogImportValidationError(ApplicationError):
    """At least one row is bad; ``errors`` names every bad cell."""

    default_code = "invalid_import_rows"

    def __init__(self, errors: list[CatalogRowError]) -> None:
        rows = len({error.row for error in errors})
        super().__init__(f"{rows} row(s) are invalid; nothing was imported.")
        self.errors = errors

    def report(self) -> str:
        return "\n".join([self.message, *(str(error) for error in self.errors)])


@dataclasses.dataclass(frozen=True)
class CatalogRawRow:
    """One row as read from the file, labelled for error reports ("line 7", "index 3")."""

    label: str
    values: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class CatalogRow:
    label: str
    product_handle: str
    product_title: str
    description: str
    sku: str
    variant_title: str
    options: dict[str, str]
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    stock_quantity: int
    image_url: str
    external_id: str


@dataclasses.dataclass
class CatalogImportSummary:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    images_created: int = 0

    def __str__(self) -> str:
        return (
            f"Products: {self.products_created} created, {self.products_updated} updated. "
            f"Variants: {self.variants_created} created, {self.variants_updated} updated. "
            f"Images: {self.images_created} created."
        )


def _require_known_columns(columns: Iterable[str]) -> None:
    columns = list(columns)
    missing = [name for name in IMPORT_REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in IMPORT_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(map(repr, unknown))}")
    if problems:
        raise CatalogImportFileError(
            "The file's columns are wrong: "
            + "; ".join(problems)
            + ". Expected columns: "
            + ", ".join(IMPORT_COLUMNS)
            + "."
        )


def catalog_file_parse(*, content: bytes, file_format: str) -> list[CatalogRawRow]:
    """Read a CSV or JSON catalog file into labelled raw rows without judging the values.

    Raises ``CatalogImportFileError`` when the file as a whole is unusable:
    not UTF-8, not CSV/JSON, empty, wrong columns or too many rows. No side
    effects.
    """
    if file_format not in {"csv", "json"}:
        raise CatalogImportFileError(f"Unknown format {file_format!r}; use csv or json.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CatalogImportFileError(
            f"The file is not UTF-8 text (undecodable byte at position {error.start})."
        ) from error
    if not text.strip():
        raise CatalogImportFileError("The file is empty.")
    rows = _csv_parse(text) if file_format == "csv" else _json_parse(text)
    if not rows:
        raise CatalogImportFileError("The file has no rows to import.")
    if len(rows) > IMPORT_MAX_ROWS:
        raise CatalogImportFileError(
            f"The file has {len(rows)} rows; split it into files of at most {IMPORT_MAX_ROWS}."
        )
    return rows


def _csv_parse(text: str) -> list[CatalogRawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        header = [name.strip() for name in header]
        _require_known_columns(header)
        if len(set(header)) != len(header):
            raise CatalogImportFileError("The header names a column twice.")
        rows = []
        for values in reader:
            if not any(value.strip() for value in values):
                continue  # blank lines, typically at the end of a spreadsheet export
            label = f"line {reader.line_num}"
            if len(values) != len(header):
                rows.append(
                    CatalogRawRow(
                        label=label,
                        values={"__shape__": f"has {len(values)} fields, expected {len(header)}"},
                    )
                )
                continue
            rows.append(CatalogRawRow(label=label, values=dict(zip(header, values, strict=True))))
    except csv.Error as error:
        raise CatalogImportFileError(
            f"The file is not valid CSV (line {reader.line_num}): {error}."
        ) from error
    return rows


def _json_parse(text: str) -> list[CatalogRawRow]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CatalogImportFileError(f"The file is not valid JSON: {error}.") from error
    if not isinstance(data, list):
        raise CatalogImportFileError("The JSON file must be a list of objects, one per variant.")
    rows = []
    for index, item in enumerate(data):
        label = f"index {index}"
        if not isinstance(item, dict):
            rows.append(CatalogRawRow(label=label, values={"__shape__": "is not an object"}))
            continue
        _require_known_columns_json(item, label)
        rows.append(CatalogRawRow(label=label, values=item))
    return rows


def _require_known_columns_json(item: dict[str, Any], label: str) -> None:
    unknown = [key for key in item if key not in IMPORT_COLUMNS]
    if unknown:
        raise CatalogImportFileError(
            f"{label} has unknown key(s) {', '.join(map(repr, unknown))}. Expected keys: "
            + ", ".join(IMPORT_COLUMNS)
            + "."
        )


_MAX_LENGTHS = {
    "product_handle": 120,
    "product_title": 200,
    "sku": 64,
    "variant_title": 200,
    "option1_name": 60,
    "option1_value": 100,
    "option2_name": 60,
    "option2_value": 100,
    "image_url": 500,
    "external_id": 64,
    "description": 10_000,
}


class _RowChecker:
    def __init__(self, raw: CatalogRawRow, errors: list[CatalogRowError]) -> None:
        self.raw = raw
        self.errors = errors
        self.ok = True

    def error(self, column: str, message: str) -> None:
        self.ok = False
        self.errors.append(CatalogRowError(row=self.raw.label, column=column, message=message))

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.raw.values.get(column)
        if value is None:
            value = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(column, f"must be text, not {type(value).__name__}")
            return ""
        value = str(value).strip()
        if required and not value:
            self.error(column, "is required")
        elif len(value) > _MAX_LENGTHS.get(column, 100):
            self.error(column, f"is longer than {_MAX_LENGTHS.get(column, 100)} characters")
        return value

    def decimal(self, column: str, *, required: bool) -> Decimal | None:
        text = self.text(column, required=required)
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.error(column, f"{text!r} is not a decimal number")
            return None
        if not value.is_finite():
            self.error(column, f"{text!r} is not a decimal number")
        elif value < 0:
            self.error(column, f"{text!r} is negative")
        elif value > _MAX_PRICE:
            self.error(column, f"{text!r} is larger than {_MAX_PRICE}")
        elif value != value.quantize(Decimal("0.01")):
            self.error(column, f"{text!r} has more than 2 decimal places")
        else:
            return value.quantize(Decimal("0.01"))
        return None

    def quantity(self, column: str) -> int:
        text = self.text(column, required=True)
        if not text:
            return 0
        if not re.fullmatch(r"[-+]?\d{1,12}", text):
            self.error(column, f"{text!r} is not a whole number")
            return 0
        value = int(text)
        if value < 0:
            self.error(column, f"{text!r} is negative")
        elif value > MAX_STOCK_QUANTITY:
            self.error(column, f"{text!r} is larger than {MAX_STOCK_QUANTITY}")
        return value


def catalog_rows_validate(
    *, storefront: Storefront, rows: list[CatalogRawRow]
) -> tuple[list[CatalogRow], list[CatalogRowError]]:
    """Check every row and return the clean rows and every error found.

    Checks each cell (required, decimals, stock, URL, currency, lengths),
    SKUs repeated inside the file and SKUs that already belong to another
    storefront's product (one query). Writes nothing.
    """
    errors: list[CatalogRowError] = []
    clean: list[CatalogRow] = []
    first_line_of_sku: dict[str, str] = {}
    url_validator = URLValidator(schemes=["http", "https"])
    for raw in rows:
        check = _RowChecker(raw, errors)
        if "__shape__" in raw.values:
            check.error("*", f"the row {raw.values['__shape__']}")
            continue
        handle = check.text("product_handle", required=True)
        if handle and not _HANDLE_RE.match(handle):
            check.error("product_handle", f"{handle!r} may only hold letters, digits, '-' and '_'")
        title = check.text("product_title", required=True)
        description = check.text("description")
        sku = check.text("sku", required=True)
        if sku in first_line_of_sku:
            check.error("sku", f"{sku!r} is already used by {first_line_of_sku[sku]}")
        elif sku:
            first_line_of_sku[sku] = raw.label
        options: dict[str, str] = {}
        for number in (1, 2):
            name = check.text(f"option{number}_name")
            value = check.text(f"option{number}_value")
            if bool(name) != bool(value):
                missing = f"option{number}_value" if name else f"option{number}_name"
                check.error(missing, f"is required when option{number} is given")
            elif name:
                if name in options:
                    check.error(f"option{number}_name", f"{name!r} is given twice")
                options[name] = value
        price = check.decimal("price", required=True)
        compare_at_price = check.decimal("compare_at_price", required=False)
        currency = check.text("currency") or storefront.currency
        if currency not in ISO_4217_CODES:
            check.error("currency", f"{currency!r} is not an ISO 4217 currency code")
        stock = check.quantity("stock_quantity")
        image_url = check.text("image_url")
        if image_url:
            try:
                url_validator(image_url)
            except ValidationError:
                check.error("image_url", f"{image_url!r} is not an http(s) URL")
        external_id = check.text("external_id")
        variant_title = check.text("variant_title")
        if check.ok and price is not None:
            clean.append(
                CatalogRow(
                    label=raw.label,
                    product_handle=handle,
                    product_title=title,
                    description=description,
                    sku=sku,
                    variant_title=variant_title,
                    options=options,
                    price=price,
                    compare_at_price=compare_at_price,
                    currency=currency,
                    stock_quantity=stock,
                    image_url=image_url,
                    external_id=external_id,
                )
            )

    foreign = dict(
        Variant.objects.filter(sku__in=list(first_line_of_sku))
        .exclude(product__storefront=storefront)
        .values_list("sku", "product__storefront__slug")
    )
    for sku, slug in sorted(foreign.items(), key=lambda item: first_line_of_sku[item[0]]):
        errors.append(
            CatalogRowError(
                row=first_line_of_sku[sku],
                column="sku",
                message=f"{sku!r} belongs to a product of storefront {slug!r}",
            )
        )
    return clean, errors


def catalog_import(
    *,
    storefront: Storefront,
    rows: list[CatalogRawRow],
    on_row: Callable[[], None] | None = None,
) -> CatalogImportSummary:
    """Validate every row, then upsert products, variants and images by handle, SKU and URL.

    All or nothing: any bad row raises ``CatalogImportValidationError``
    listing every bad cell before anything is written; otherwise everything
    is written in one transaction, so re-importing the same file creates
    nothing new. A product's title and description come from its first row.
    An existing variant's stock is set through ``variant_stock_set`` (row
    locked, ``stock.changed`` to live shows pinning it); every product's
    change is announced (``product_change_announce``: fresh cards of pinned
    ones). ``on_row`` is called after each row (progress
    display).
    """
    clean, errors = catalog_rows_validate(storefront=storefront, rows=rows)
    if errors:
        raise CatalogImportValidationError(errors)

    summary = CatalogImportSummary()
    products: dict[str, Product] = {}
    image_positions: dict[str, int] = {}
    variant_positions: dict[str, int] = {}
    with transaction.atomic():
        for row in clean:
            product = products.get(row.product_handle)
            if product is None:
                product, created = Product.objects.update_or_create(
                    storefront=storefront,
                    handle=row.product_handle,
                    defaults={"title": row.product_title, "description": row.description},
                )
                products[row.product_handle] = product
                if created:
                    summary.products_created += 1
                else:
                    summary.products_updated += 1
            position = variant_positions.get(row.product_handle, 0)
            variant_positions[row.product_handle] = position + 1
            fields = {
                "product": product,
                "title": row.variant_title,
                "options": row.options,
                "external_id": row.external_id,
                "price": row.price,
                "compare_at_price": row.compare_at_price,
                "currency": row.currency,
                "position": position,
            }
            # update_or_create locks an existing row, so its stock read here
            # stays current; a change goes through the stock service, which
            # tells viewers of pinned variants.
            variant, created = Variant.objects.update_or_create(
                sku=row.sku,
                defaults=fields,
                create_defaults={**fields, "stock_quantity": row.stock_quantity},
            )
            if created:
                summary.variants_created += 1
            else:
                summary.variants_updated += 1
                if variant.stock_quantity != row.stock_quantity:
                    variant_stock_set(
                        storefront=storefront, sku=row.sku, quantity=row.stock_quantity
                    )
            if row.image_url:
                image_position = image_positions.get(row.product_handle, 0)
                _, created = ProductImage.objects.get_or_create(
                    product=product,
                    url=row.image_url,
                    defaults={"position": image_position, "alt_text": row.product_title[:200]},
                )
                if created:
                    image_positions[row.product_handle] = image_position + 1
                    summary.images_created += 1
            if on_row is not None:
                on_row()
        product_change_announce(product_ids=[product.pk for product in products.values()])
    return summary


# --- Incoming stock webhook --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StockUpdate:
    sku: str
    quantity: int | None = None
    delta: int | None = None


def storefront_stock_webhook_apply(
    *, storefront: Storefront, webhook_id: str, updates: list[StockUpdate]
) -> str:
    """Apply a verified stock webhook once; return "applied" or "duplicate".

    Precondition: the caller verified the signature. A webhook id already
    recorded for the storefront changes nothing ("duplicate"). Every SKU must
    belong to the storefront, else ``ApplicationError`` ("unknown_sku") names
    them before anything is written. The record and all updates share one
    transaction, so a refused update (``OutOfStockError``) leaves the id
    unrecorded and the shop's retry is applied in full.
    """
    if IncomingWebhook.objects.filter(storefront=storefront, webhook_id=webhook_id).exists():
        return "duplicate"
    skus = {update.sku for update in updates}
    known = set(
        Variant.objects.filter(product__storefront=storefront, sku__in=skus).values_list(
            "sku", flat=True
        )
    )
    unknown = sorted(skus - known)
    if unknown:
        raise ApplicationError(
            f"Unknown SKU(s) in storefront {storefront.slug!r}: {', '.join(unknown)}.",
            code="unknown_sku",
            extra={"skus": unknown},
        )
    with transaction.atomic():
        try:
            # A concurrent delivery of the same id waits on the unique index
            # here and then lands in the except branch.
            with transaction.atomic():
                IncomingWebhook.objects.create(
                    storefront=storefront, webhook_id=webhook_id, kind="stock"
                )
        except IntegrityError:
            return "duplicate"
        variants_lock(
            variant_ids=Variant.objects.filter(
                product__storefront=storefront, sku__in=skus
            ).values_list("pk", flat=True)
        )
        for update in updates:
            if update.quantity is not None:
                variant_stock_set(storefront=storefront, sku=update.sku, quantity=update.quantity)
            else:
                variant_stock_adjust(storefront=storefront, sku=update.sku, delta=update.delta or 0)
    return "applied"


# --- Order totals ---------------------------------------------------------------


def _largest_stored(field_name: str) -> Decimal:
    field = Order._meta.get_field(field_name)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(
        -field.decimal_places
    )


# The largest total ``Order.total`` holds; PostgreSQL refuses anything above.
ORDER_TOTAL_MAX = _largest_stored("total")


class OrderTotalError(ApplicationError):
    default_code = "order_total_too_large"


def _order_total(*, amounts: Iterable[Decimal]) -> Decimal:
    total = sum(amounts, Decimal("0"))
    if total > ORDER_TOTAL_MAX:
        raise OrderTotalError(
            f"The order's total exceeds {ORDER_TOTAL_MAX}, the largest total stored."
        )
    return total


# --- Demo cart (kept in the viewer's session) ---------------------------------------

CART_LINE_MAX_QUANTITY = 99
CART_MAX_LINES = 50


class CartError(ApplicationError):
    default_code = "invalid_cart"


def _quantity_parse(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise CartError("Quantity must be a whole number.", code="invalid_quantity")
    if not 1 <= quantity <= CART_LINE_MAX_QUANTITY:
        raise CartError(
            f"Quantity must be between 1 and {CART_LINE_MAX_QUANTITY}.", code="invalid_quantity"
        )
    return quantity


def _demo_variant_get(*, sku: str) -> Variant:
    if not isinstance(sku, str) or "\x00" in sku or not 1 <= len(sku) <= 64:
        raise NotFoundError("No such product in the demo shop.", code="unknown_sku")
    variant = (
        Variant.objects.select_related("product__storefront")
        .filter(sku=sku, product__is_active=True, product__storefront__kind=Storefront.Kind.DEMO)
        .first()
    )
    if variant is None:
        raise NotFoundError(f"No product with SKU {sku!r} in the demo shop.", code="unknown_sku")
    return variant


def _cart_click_unspent(*, token: str, variant: Variant, viewer_key: str) -> LinkClick | None:
    """The viewer's own click on ``variant`` that ``token`` names, if no add used it yet."""
    if not token:
        return None
    try:
        click_pk = signing.loads(
            token, salt=CART_CLICK_SALT, max_age=settings.LIVESHOP_CART_LINK_SECONDS
        )
    except signing.BadSignature:
        return None
    if isinstance(click_pk, bool) or not isinstance(click_pk, int):
        return None
    if not 1 <= click_pk <= MAX_ROW_ID:
        return None
    return LinkClick.objects.filter(
        pk=click_pk, variant=variant, viewer_key=viewer_key[:64], cart_addition__isnull=True
    ).first()


def _cart_addition_create(
    *, variant: Variant, quantity: int, viewer_key: str, click: LinkClick | None
) -> CartAddition:
    fields = {
        "product_id": variant.product_id,
        "variant": variant,
        "quantity": quantity,
        "viewer_key": viewer_key[:64],
    }
    if click is not None:
        try:
            with transaction.atomic():
                return CartAddition.objects.create(
                    click=click, show_id=click.show_id, pin_id=click.pin_id, **fields
                )
        except IntegrityError:
            pass  # the same click used by a concurrent add: that one is credited
    return CartAddition.objects.create(**fields)


def cart_line_add(
    *,
    lines: list[dict],
    sku: str,
    quantity: int,
    viewer_key: str,
    click_token: str = "",
) -> list[dict]:
    """Add ``quantity`` of the demo variant ``sku`` to the cart ``lines``; return the new lines.

    ``lines`` is the session's list of ``{"variant_id", "quantity",
    "show_id", "pin_id"}``; it is not modified. A line for the same variant
    grows (capped at ``CART_LINE_MAX_QUANTITY``). Refuses a bad quantity,
    an unknown SKU and a sold-out variant (``out_of_stock``) without
    writing. Side effect: one ``CartAddition`` row, the add-to-cart the
    attribution report counts. The add is credited to a show and pin only
    through ``click_token``, the signed click of a followed add-to-cart link
    for this variant, made by this ``viewer_key`` and not used by an add
    before; the line then takes that attribution. Anything else adds
    uncredited.
    """
    quantity = _quantity_parse(quantity)
    variant = _demo_variant_get(sku=sku)
    if variant.stock_quantity <= 0:
        raise OutOfStockError(
            f'"{variant.product.title}" is sold out.', extra={"sku": sku, "available": 0}
        )
    new_lines = [dict(line) for line in lines]
    line = next((line for line in new_lines if line["variant_id"] == variant.pk), None)
    if line is None:
        if len(new_lines) >= CART_MAX_LINES:
            raise CartError(f"A cart holds at most {CART_MAX_LINES} lines.", code="cart_full")
        line = {"variant_id": variant.pk, "quantity": 0, "show_id": None, "pin_id": None}
        new_lines.append(line)
    line["quantity"] = min(CART_LINE_MAX_QUANTITY, line["quantity"] + quantity)
    addition = _cart_addition_create(
        variant=variant,
        quantity=quantity,
        viewer_key=viewer_key,
        click=_cart_click_unspent(token=click_token, variant=variant, viewer_key=viewer_key),
    )
    if addition.click_id is not None:
        line["show_id"], line["pin_id"] = addition.show_id, addition.pin_id
    return new_lines


def cart_line_quantity_set(*, lines: list[dict], variant_id: int, quantity: int) -> list[dict]:
    """Set a line's quantity (0 removes it); return the new lines. Writes nothing."""
    if quantity == 0:
        return cart_line_remove(lines=lines, variant_id=variant_id)
    quantity = _quantity_parse(quantity)
    if not any(line["variant_id"] == variant_id for line in lines):
        raise NotFoundError("This product is not in the cart.", code="not_in_cart")
    return [
        {**line, "quantity": quantity} if line["variant_id"] == variant_id else dict(line)
        for line in lines
    ]


def cart_line_remove(*, lines: list[dict], variant_id: int) -> list[dict]:
    """Drop a line; return the new lines. Writes nothing."""
    if not any(line["variant_id"] == variant_id for line in lines):
        raise NotFoundError("This product is not in the cart.", code="not_in_cart")
    return [dict(line) for line in lines if line["variant_id"] != variant_id]


@transaction.atomic
def order_place(
    *, lines: list[dict], viewer_key: str, order_key: str, issued_order_key: str | None
) -> list[Order]:
    """Place the demo cart: one order per storefront, stock taken in the same transaction.

    Every line's stock is decremented with a conditional UPDATE, so two
    buyers of the last unit cannot both succeed and stock never goes below
    zero; a short line raises ``OutOfStockError`` (``out_of_stock``, 409)
    and the whole transaction, every decrement included, rolls back.
    ``order_key`` is the checkout form's one-time key and must equal
    ``issued_order_key``, the key the viewer's session issued for the cart
    now in it; any other key (spent, from another tab's earlier order or
    another session) is refused as ``stale_order_key`` (409) before anything
    is read or written. Placing the same key twice at once returns the
    orders already placed (a double submit buys once).
    Unit prices are taken now: the show price while it applies, else the
    normal price. A storefront's lines in more than one currency
    (``mixed_currencies``) or totalling beyond ``ORDER_TOTAL_MAX``
    (``order_total_too_large``) are refused before anything is written.
    Side effects: ``stock.changed`` events for pinned variants.
    """
    if not isinstance(order_key, str) or not 8 <= len(order_key) <= 64:
        raise CartError("The order form is not valid; reload the cart.", code="invalid_order_key")
    if not issued_order_key or not hmac.compare_digest(order_key, issued_order_key):
        raise CartError(
            "This order form is out of date: an order was already placed from it or it"
            " belongs to another cart. Check the cart and order again.",
            code="stale_order_key",
            status_code=409,
        )
    if not lines:
        raise CartError("The cart is empty.", code="cart_empty")
    priced = cart_lines_priced(lines=lines)
    if len(priced) != len(lines):
        raise CartError("A product in the cart is no longer sold here.", code="unknown_sku")
    by_storefront: dict[int, list[PricedLine]] = {}
    for line in priced:
        if line.variant.product.storefront.kind != Storefront.Kind.DEMO:
            raise CartError("A product in the cart is no longer sold here.", code="unknown_sku")
        _quantity_parse(line.quantity)
        by_storefront.setdefault(line.variant.product.storefront_id, []).append(line)
    totals = {}
    for storefront_id, storefront_lines in by_storefront.items():
        currencies = sorted({line.variant.currency for line in storefront_lines})
        if len(currencies) > 1:
            raise CartError(
                f"The cart mixes prices in {' and '.join(currencies)}; order each"
                " currency on its own.",
                code="mixed_currencies",
            )
        totals[storefront_id] = _order_total(amounts=(line.total for line in storefront_lines))
    # Every variant of the cart is locked before the first decrement announces stock (the lock
    # order): two carts with the same products in another order wait instead of deadlocking.
    variants_lock(variant_ids=[line.variant.pk for line in priced])
    orders = []
    for storefront_id, storefront_lines in sorted(by_storefront.items()):
        storefront = storefront_lines[0].variant.product.storefront
        external_id = f"demo-{order_key}"
        existing = Order.objects.filter(storefront=storefront, external_id=external_id).first()
        if existing is not None:
            orders.append(existing)
            continue
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    storefront=storefront,
                    external_id=external_id,
                    source=Order.Source.DEMO,
                    viewer_key=viewer_key[:64],
                    currency=storefront_lines[0].variant.currency,
                    total=totals[storefront_id],
                )
        except IntegrityError:
            # The same form submitted twice at once: the first one placed it.
            orders.append(Order.objects.get(storefront=storefront, external_id=external_id))
            continue
        for line in storefront_lines:
            variant_stock_adjust(storefront=storefront, sku=line.variant.sku, delta=-line.quantity)
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=line.variant,
                product_id=line.variant.product_id,
                sku=line.variant.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                show_id=line.show_id,
                pin_id=line.pin_id,
            )
            for line in storefront_lines
        )
        orders.append(order)
    return orders


# --- Incoming order webhook ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal


def storefront_order_webhook_apply(
    *,
    storefront: Storefront,
    order_id: str,
    currency: str,
    lines: list[OrderLineInput],
    show_public_id: str = "",
    pin_id: Any = None,
) -> str:
    """Store an order reported by a verified shop webhook once; "applied" or "duplicate".

    Precondition: the caller verified the signature. Idempotent by the
    shop's order id (unique per storefront): a retry or a concurrent
    duplicate changes nothing. Lines are credited to the show from the
    attribution parameters, and to the pin when the line is of the pinned
    product (``catalog.hooks``: shows resolves them). SKUs liveshop does
    not know are stored unattributed. Stock is not touched: the shop
    reports stock on its stock webhook. A total beyond ``ORDER_TOTAL_MAX``
    is refused (``order_total_too_large``, 400) before anything is written.
    """
    if Order.objects.filter(storefront=storefront, external_id=order_id).exists():
        return "duplicate"
    total = _order_total(amounts=(line.unit_price * line.quantity for line in lines))
    variants = {
        variant.sku: variant
        for variant in Variant.objects.filter(
            product__storefront=storefront, sku__in=[line.sku for line in lines]
        )
    }
    order_lines = []
    for line in lines:
        variant = variants.get(line.sku)
        attribution = catalog_hooks().attribution_resolve(
            show_public_id=show_public_id,
            pin_id=pin_id,
            product_id=None if variant is None else variant.product_id,
        )
        order_lines.append(
            OrderLine(
                variant=variant,
                product_id=None if variant is None else variant.product_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                show_id=None if attribution is None else attribution.show_id,
                pin_id=None if attribution is None else attribution.pin_id,
            )
        )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                storefront=storefront,
                external_id=order_id,
                source=Order.Source.WEBHOOK,
                currency=currency,
                total=total,
            )
            for order_line in order_lines:
                order_line.order = order
            OrderLine.objects.bulk_create(order_lines)
    except IntegrityError:
        return "duplicate"
    return "applied"
