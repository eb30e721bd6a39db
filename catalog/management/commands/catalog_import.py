"""``manage.py catalog_import FILE --storefront SLUG``: load products from CSV or JSON."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog.selectors import storefront_get_by_slug
from catalog.services.imports import (
    CatalogImportValidationError,
    catalog_file_parse,
    catalog_import,
)
from liveshop.common.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Import a storefront's catalog from a CSV or JSON file, one row per variant "
        "(see docs/catalog-import.md). Every row is checked first; one bad row imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--storefront", required=True, help="Slug of the storefront.")
        parser.add_argument(
            "--format",
            choices=["csv", "json"],
            help="File format; by default taken from the file's extension.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        file_format = options["format"] or path.suffix.lower().lstrip(".")
        if file_format not in {"csv", "json"}:
            raise CommandError(
                f"Cannot tell the format of {path.name!r} from its extension; pass --format."
            )
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        try:
            storefront = storefront_get_by_slug(slug=options["storefront"])
            rows = catalog_file_parse(content=content, file_format=file_format)
            with tqdm(
                total=len(rows),
                desc="Importing",
                unit="row",
                file=sys.stderr,
                disable=options["verbosity"] == 0,
            ) as progress:
                summary = catalog_import(
                    storefront=storefront, rows=rows, on_row=lambda: progress.update(1)
                )
        except CatalogImportValidationError as error:
            raise CommandError(error.report()) from error
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(str(summary)))
