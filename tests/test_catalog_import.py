"""Catalog import: all rows checked first, all or nothing, upserts by SKU."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, ProductImage, Variant
from catalog.services.imports import (
    IMPORT_COLUMNS,
    CatalogImportFileError,
    CatalogImportValidationError,
    catalog_file_parse,
    catalog_import,
)
from tests.factories import StorefrontFactory, VariantFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "catalog" / "fixtures" / "sample_catalog.csv"


def _row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "product_handle": f"product-{n // 4}",
        "product_title": f"Product {n // 4}",
        "description": "Imported.",
        "sku": f"IMP-{n:05d}",
        "variant_title": f"Size {n % 4}",
        "option1_name": "size",
        "option1_value": str(n % 4),
        "option2_name": "",
        "option2_value": "",
        "price": "10.50",
        "compare_at_price": "",
        "currency": "EUR",
        "stock_quantity": "7",
        "image_url": f"https://images.example.com/{n // 4}.jpg",
        "external_id": str(90000000 + n),
    }
    row.update(overrides)
    return row


def _csv(rows: list[dict[str, str]], columns=IMPORT_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _import(path: Path, slug: str, *extra: str) -> str:
    out = io.StringIO()
    call_command("catalog_import", str(path), "--storefront", slug, *extra, stdout=out, verbosity=0)
    return out.getvalue()


def _snapshot() -> tuple[int, int, int, list]:
    return (
        Product.objects.count(),
        Variant.objects.count(),
        ProductImage.objects.count(),
        list(Variant.objects.order_by("sku").values_list("sku", "stock_quantity", "price")),
    )


def test_thousand_row_csv_imports_every_row(tmp_path):
    storefront = StorefrontFactory(slug="big")
    path = _write(tmp_path, "big.csv", _csv([_row(n) for n in range(1000)]))

    output = _import(path, "big")

    assert output.strip() == (
        "Products: 250 created, 0 updated. Variants: 1000 created, 0 updated. Images: 250 created."
    )
    assert Product.objects.filter(storefront=storefront).count() == 250
    assert Variant.objects.filter(product__storefront=storefront).count() == 1000
    assert ProductImage.objects.count() == 250
    variant = Variant.objects.get(sku="IMP-00005")
    assert variant.product.handle == "product-1"
    assert variant.options == {"size": "1"}
    assert variant.price == Decimal("10.50")
    assert variant.stock_quantity == 7
    assert variant.external_id == "90000005"
    assert variant.position == 1


def test_reimporting_the_same_file_creates_nothing_new(tmp_path):
    StorefrontFactory(slug="again")
    path = _write(tmp_path, "again.csv", _csv([_row(n) for n in range(40)]))
    _import(path, "again")
    before = _snapshot()

    output = _import(path, "again")

    assert output.strip() == (
        "Products: 0 created, 10 updated. Variants: 0 created, 40 updated. Images: 0 created."
    )
    assert _snapshot() == before


def test_reimport_updates_changed_values(tmp_path):
    StorefrontFactory(slug="change")
    _import(_write(tmp_path, "a.csv", _csv([_row(1)])), "change")

    _import(_write(tmp_path, "b.csv", _csv([_row(1, price="12.00", stock_quantity="3")])), "change")

    variant = Variant.objects.get(sku="IMP-00001")
    assert (variant.price, variant.stock_quantity) == (Decimal("12.00"), 3)
    assert Variant.objects.count() == 1


def test_three_bad_rows_import_nothing_and_are_each_reported(tmp_path):
    StorefrontFactory(slug="strict")
    VariantFactory(sku="EXISTING", stock_quantity=4)
    rows = [_row(n) for n in range(10)]
    rows[2]["price"] = "abc"
    rows[5]["stock_quantity"] = "-3"
    rows[8]["sku"] = rows[1]["sku"]
    path = _write(tmp_path, "bad.csv", _csv(rows))
    before = _snapshot()

    with pytest.raises(CommandError) as excinfo:
        _import(path, "strict")

    # The header is line 1, so rows[i] sits on line i + 2.
    assert str(excinfo.value) == (
        "3 row(s) are invalid; nothing was imported.\n"
        "line 4, column price: 'abc' is not a decimal number\n"
        "line 7, column stock_quantity: '-3' is negative\n"
        "line 10, column sku: 'IMP-00001' is already used by line 3"
    )
    assert _snapshot() == before


def test_every_kind_of_bad_cell_is_named():
    storefront = StorefrontFactory(slug="mine", currency="EUR")
    VariantFactory(sku="THEIRS", product__storefront=StorefrontFactory(slug="theirs"))
    rows = [
        _row(0, product_title=" "),
        _row(1, sku="THEIRS"),
        _row(2, image_url="ftp://images.example.com/x.jpg"),
        _row(3, currency="EURO"),
        _row(4, price="1.999"),
        _row(5, compare_at_price="NaN"),
        _row(6, stock_quantity="1e3"),
        _row(7, price="123456789012"),
        _row(8, option1_value=""),
        _row(9, product_handle="not a slug"),
        _row(10, stock_quantity="99999999999"),
    ]
    raw = catalog_file_parse(content=_csv(rows), file_format="csv")

    with pytest.raises(CatalogImportValidationError) as excinfo:
        catalog_import(storefront=storefront, rows=raw)

    assert [str(error) for error in excinfo.value.errors] == [
        "line 2, column product_title: is required",
        "line 4, column image_url: 'ftp://images.example.com/x.jpg' is not an http(s) URL",
        "line 5, column currency: 'EURO' is not an ISO 4217 currency code",
        "line 6, column price: '1.999' has more than 2 decimal places",
        "line 7, column compare_at_price: 'NaN' is not a decimal number",
        "line 8, column stock_quantity: '1e3' is not a whole number",
        "line 9, column price: '123456789012' is larger than 99999999.99",
        "line 10, column option1_value: is required when option1 is given",
        "line 11, column product_handle: 'not a slug' may only hold letters, digits, '-' and '_'",
        "line 12, column stock_quantity: '99999999999' is larger than 2147483647",
        "line 3, column sku: 'THEIRS' belongs to a product of storefront 'theirs'",
    ]
    assert Product.objects.filter(storefront=storefront).count() == 0


def test_json_import_with_numbers_and_defaults(tmp_path):
    storefront = StorefrontFactory(slug="json-shop", currency="USD")
    data = [
        {
            "product_handle": "cap",
            "product_title": "Cap",
            "sku": "CAP-1",
            "price": 15,
            "stock_quantity": 3,
        },
        {
            "product_handle": "cap",
            "product_title": "Cap",
            "sku": "CAP-2",
            "price": "15.5",
            "stock_quantity": "0",
            "option1_name": "colour",
            "option1_value": "red",
        },
    ]
    path = _write(tmp_path, "catalog.json", json.dumps(data).encode())

    output = _import(path, "json-shop")

    assert output.strip() == (
        "Products: 1 created, 0 updated. Variants: 2 created, 0 updated. Images: 0 created."
    )
    product = Product.objects.get(storefront=storefront, handle="cap")
    assert list(product.variants.values_list("sku", "price", "currency", "options")) == [
        ("CAP-1", Decimal("15.00"), "USD", {}),
        ("CAP-2", Decimal("15.50"), "USD", {"colour": "red"}),
    ]


def test_json_rows_are_reported_by_index(tmp_path):
    StorefrontFactory(slug="json-bad")
    data = [
        {
            "product_handle": "cap",
            "product_title": "Cap",
            "sku": "CAP-1",
            "price": 1,
            "stock_quantity": 1,
        },
        {
            "product_handle": "cap",
            "product_title": "Cap",
            "sku": ["x"],
            "price": True,
            "stock_quantity": 1,
        },
        "not an object",
    ]
    path = _write(tmp_path, "rows.json", json.dumps(data).encode())

    with pytest.raises(CommandError) as excinfo:
        _import(path, "json-bad")

    assert str(excinfo.value) == (
        "2 row(s) are invalid; nothing was imported.\n"
        "index 1, column sku: must be text, not list\n"
        "index 1, column price: must be text, not bool\n"
        "index 2, column *: the row is not an object"
    )
    assert Product.objects.count() == 0


def test_sample_file_imports(tmp_path):
    StorefrontFactory(slug="sample")

    output = _import(SAMPLE, "sample")

    assert output.strip() == (
        "Products: 7 created, 0 updated. Variants: 20 created, 0 updated. Images: 11 created."
    )
    assert Variant.objects.get(sku="LS-SAND-M").options == {"colour": "sand", "size": "M"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("blank.csv", b"\n\n  \n", "The file is empty."),
        ("header-only.csv", _csv([]), "The file has no rows to import."),
        (
            "wrong.csv",
            b"name,price\nShirt,10\n",
            "The file's columns are wrong: missing required column(s): product_handle, "
            "product_title, sku, stock_quantity; unknown column(s): 'name'. Expected columns: "
            + ", ".join(IMPORT_COLUMNS)
            + ".",
        ),
        (
            "latin1.csv",
            _csv([_row(1, product_title="Pullover")]).replace(b"Pullover", b"Pull\xf6ver"),
            "The file is not UTF-8 text (undecodable byte at position",
        ),
        ("bad.json", b"{not json", "The file is not valid JSON: "),
        ("object.json", b'{"sku": "A"}', "The JSON file must be a list of objects"),
        ("empty-list.json", b"[]", "The file has no rows to import."),
        ("binary.csv", bytes(range(256)), "The file is not UTF-8 text"),
    ],
)
def test_garbage_files_give_a_clear_error(tmp_path, name, content, message):
    StorefrontFactory(slug="garbage")
    path = _write(tmp_path, name, content)

    with pytest.raises(CommandError) as excinfo:
        _import(path, "garbage")

    assert str(excinfo.value).startswith(message)
    assert Product.objects.count() == 0


def test_json_with_unknown_key_is_refused():
    with pytest.raises(CatalogImportFileError) as excinfo:
        catalog_file_parse(content=b'[{"sku": "A", "colour": "red"}]', file_format="json")

    assert excinfo.value.message.startswith("index 0 has unknown key(s) 'colour'.")


def test_csv_row_with_wrong_field_count_is_a_row_error(tmp_path):
    StorefrontFactory(slug="short")
    content = _csv([_row(1)]) + b"only,three,fields\n"
    path = _write(tmp_path, "short.csv", content)

    with pytest.raises(CommandError) as excinfo:
        _import(path, "short")

    assert str(excinfo.value) == (
        "1 row(s) are invalid; nothing was imported.\n"
        "line 3, column *: the row has 3 fields, expected 15"
    )
    assert Product.objects.count() == 0


def test_format_option_overrides_the_extension(tmp_path):
    StorefrontFactory(slug="fmt")
    path = _write(tmp_path, "catalog.txt", _csv([_row(1)]))

    with pytest.raises(CommandError, match="Cannot tell the format of 'catalog.txt'"):
        _import(path, "fmt")
    _import(path, "fmt", "--format", "csv")

    assert Variant.objects.filter(sku="IMP-00001").count() == 1


def test_unknown_storefront_is_refused(tmp_path):
    path = _write(tmp_path, "a.csv", _csv([_row(1)]))

    with pytest.raises(CommandError, match="Unknown storefront 'nope'."):
        _import(path, "nope")

    assert Product.objects.count() == 0


def test_missing_file_is_refused(tmp_path):
    StorefrontFactory(slug="nofile")

    with pytest.raises(CommandError, match="Cannot read"):
        _import(tmp_path / "missing.csv", "nofile")
