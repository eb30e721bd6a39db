"""The catalog file import: parse a CSV or JSON file, check every row, then upsert it all.

docs/catalog-import.md describes the file; ``manage.py catalog_import`` is the adapter.
"""

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from catalog.models import Product, ProductImage, Storefront, Variant
from catalog.services.stock import MAX_STOCK_QUANTITY, product_change_announce, variant_stock_set
from liveshop.common.exceptions import ApplicationError

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
    on_row: Callable[[], object] | None = None,
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
