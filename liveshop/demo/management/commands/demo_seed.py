from django.core.management.base import BaseCommand

from liveshop.demo.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo accounts, a demo shop and a week of demo shows (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        counts = demo_seed()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: {accounts} accounts, {products} products, {shows} shows, "
                "{desks} advice desk.".format(**counts)
            )
        )
