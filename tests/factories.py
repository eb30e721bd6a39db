import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from catalog.models import Product, ProductImage, Storefront, Variant
from chat.models import BlockedTerm, ChatMessage, ChatSanction
from consultations.models import Desk, DeskAdvisor, DeskHours, DeskTopic
from liveshop.accounts.models import User
from shows.models import Channel, Show, ShowMember, ShowProduct, ShowReminder
from video.models import Recording, ShowStream


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    display_name = factory.LazyAttribute(lambda user: user.username.title())
    role = User.Role.VIEWER
    password = factory.django.Password("correct horse battery staple")


class StorefrontFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Storefront
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    kind = Storefront.Kind.DEMO
    currency = "EUR"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    storefront = factory.SubFactory(StorefrontFactory)
    handle = factory.Sequence(lambda n: f"product-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A product shown in live shows."


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    url = factory.Sequence(lambda n: f"https://images.example.com/{n}.jpg")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = "Default"
    options = factory.LazyFunction(dict)
    external_id = factory.Sequence(lambda n: str(40000000 + n))
    price = Decimal("19.99")
    currency = "EUR"
    stock_quantity = 10


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"Channel {n}")
    slug = factory.Sequence(lambda n: f"channel-{n}")
    timezone = "Europe/Berlin"


def _next_slot(n: int) -> dt.datetime:
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return base + dt.timedelta(hours=2 * n)


class ShowFactory(factory.django.DjangoModelFactory):
    """A scheduled show in its own two-hour slot (no accidental overlaps)."""

    class Meta:
        model = Show

    channel = factory.SubFactory(ChannelFactory)
    title = factory.Sequence(lambda n: f"Show {n}")
    slug = factory.Sequence(lambda n: f"show-{n}")
    status = Show.Status.SCHEDULED
    scheduled_start = factory.Sequence(_next_slot)
    scheduled_end = factory.LazyAttribute(lambda show: show.scheduled_start + dt.timedelta(hours=1))


class ShowProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShowProduct

    show = factory.SubFactory(ShowFactory)
    product = factory.SubFactory(ProductFactory)
    position = factory.Sequence(lambda n: n)


class ShowMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShowMember

    show = factory.SubFactory(ShowFactory)
    user = factory.SubFactory(UserFactory)
    role = ShowMember.Role.MODERATOR


class ShowReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShowReminder

    show = factory.SubFactory(ShowFactory)
    user = factory.SubFactory(UserFactory)


class ChatMessageFactory(factory.django.DjangoModelFactory):
    """A stored message without its log event; use chat services for realistic ones."""

    class Meta:
        model = ChatMessage

    show = factory.SubFactory(ShowFactory)
    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"message {n}")


class ChatSanctionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatSanction

    kind = ChatSanction.Kind.TIMEOUT
    show = factory.SubFactory(ShowFactory)
    channel = factory.LazyAttribute(lambda sanction: sanction.show.channel)
    user = factory.SubFactory(UserFactory)
    reason = "spam"
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=10))


class BlockedTermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BlockedTerm

    channel = factory.SubFactory(ChannelFactory)
    term = factory.Sequence(lambda n: f"badword{n}")


class ShowStreamFactory(factory.django.DjangoModelFactory):
    """A show's stream key; the show starts in ten minutes, inside its start window."""

    class Meta:
        model = ShowStream

    show = factory.SubFactory(
        ShowFactory,
        scheduled_start=factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=10)),
    )


class RecordingFactory(factory.django.DjangoModelFactory):
    """A replay ready to play: a processed recording of an ended show."""

    class Meta:
        model = Recording

    show = factory.SubFactory(ShowFactory, status=Show.Status.ENDED)
    provider = "nginx_rtmp"
    source = factory.Sequence(lambda n: f"/media/rec/show-{n}.flv")
    size_bytes = 1000
    status = Recording.Status.READY
    duration_seconds = 600.0
    ready_at = factory.LazyFunction(timezone.now)


class DeskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Desk

    name = factory.Sequence(lambda n: f"Desk {n}")
    slug = factory.Sequence(lambda n: f"desk-{n}")
    storefront = factory.SubFactory(StorefrontFactory)
    timezone = "Europe/Berlin"
    greeting = "Hello, how can I help?"


class DeskAdvisorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeskAdvisor

    desk = factory.SubFactory(DeskFactory)
    user = factory.SubFactory(UserFactory, role=User.Role.SERVICE_STAFF)
    capacity = 2


class DeskTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeskTopic

    desk = factory.SubFactory(DeskFactory)
    slug = factory.Sequence(lambda n: f"topic-{n}")
    label = factory.Sequence(lambda n: f"Topic {n}")


class DeskHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeskHours

    desk = factory.SubFactory(DeskFactory)
    weekday = DeskHours.Weekday.MONDAY
    opens = dt.time(9)
    closes = dt.time(18)
