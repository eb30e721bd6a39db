"""Create a live show and chat users with API tokens for one benchmark run.

Run with the benchmark's environment (``bench.servers.liveshop_environment``); prints one JSON
line: ``{"public_id": ..., "tokens": [...], "commands": [...]}``. Uses the project's own
services, so the show is exactly what the admin would have made, and the project's own server
command lines (``liveshop.servers``), so the server runs as it does in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets

import django


def show_and_senders_create(senders: int) -> dict:
    from django.utils import timezone

    from liveshop.accounts.services import auth_token_create, user_create
    from shows.models import Channel
    from shows.services import show_create, show_go_live, show_publish

    run = secrets.token_hex(4)
    channel = Channel.objects.create(name=f"Bench {run}", slug=f"bench-{run}", timezone="UTC")
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    show = show_create(
        channel=channel,
        title=f"Benchmark {run}",
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=2),
    )
    show = show_go_live(show=show_publish(show=show))
    tokens = []
    for number in range(senders):
        password = secrets.token_urlsafe(12)
        username = f"bench-{run}-{number}"
        user_create(username=username, password=password)
        tokens.append(auth_token_create(username=username, password=password).key)
    return {"public_id": show.public_id, "tokens": tokens}


def pin_products_create(public_id: str, count: int) -> dict:
    """``count`` demo products for the pin scenario and a moderator token for the show."""
    from bench.stats import pin_title
    from catalog.models import Product, ProductImage, Storefront, Variant
    from liveshop.accounts.services import auth_token_create, user_create
    from shows.models import Show, ShowMember
    from shows.services import show_member_add

    show = Show.objects.get(public_id=public_id)
    run = secrets.token_hex(4)
    storefront = Storefront.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    product_ids = []
    for number in range(count):
        product = Product.objects.create(
            storefront=storefront, handle=f"bench-{run}-{number}", title=pin_title(number)
        )
        ProductImage.objects.create(product=product, url=f"https://img.example.com/{number}.jpg")
        # A card the size of a real one: three sizes with options, stock and prices.
        for size in ("S", "M", "L"):
            Variant.objects.create(
                product=product,
                sku=f"BENCH-{run}-{number}-{size}",
                title=size,
                options={"size": size, "colour": "black"},
                price="49.90",
                stock_quantity=100,
            )
        product_ids.append(product.pk)
    password = secrets.token_urlsafe(12)
    username = f"bench-{run}-moderator"
    moderator = user_create(username=username, password=password)
    show_member_add(show=show, user=moderator, role=ShowMember.Role.MODERATOR)
    token = auth_token_create(username=username, password=password).key
    return {"pin_products": product_ids, "moderator_token": token}


def server_commands(server: str, ports: list[int]) -> list[list[str]]:
    from liveshop.servers import asgi_server_command

    return [asgi_server_command(server=server, host="127.0.0.1", port=port) for port in ports]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--server", choices=("daphne", "uvicorn"), required=True)
    parser.add_argument("--ports", required=True, help="comma-separated")
    parser.add_argument(
        "--pin-products", type=int, default=0, help="products to create for the pin scenario"
    )
    args = parser.parse_args()
    django.setup()
    prepared = show_and_senders_create(args.senders)
    if args.pin_products:
        prepared.update(pin_products_create(prepared["public_id"], args.pin_products))
    prepared["commands"] = server_commands(args.server, [int(p) for p in args.ports.split(",")])
    print(json.dumps(prepared))  # noqa: T201


if __name__ == "__main__":
    main()
