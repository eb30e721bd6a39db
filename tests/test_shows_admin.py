"""Merchandisers schedule shows in the Django admin, through the show services."""

import datetime as dt
import functools
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveshop.accounts.services import user_create
from shows.models import Show, ShowMember, ShowProduct
from shows.tasks import show_cancellation_notify
from tests import factories
from tests.timeutil import BERLIN, berlin_at, monday_in_berlin

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/shows/show/add/"
CHANGELIST_URL = "/admin/shows/show/"
SCHEDULE_URL = "/admin/shows/show/schedule/"


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _snapshot() -> tuple[list, list, list]:
    return (
        list(
            Show.objects.order_by("pk").values_list(
                "pk", "title", "status", "scheduled_start", "scheduled_end", "cancelled_at"
            )
        ),
        list(ShowProduct.objects.order_by("pk").values_list("pk", "show_id", "position")),
        list(ShowMember.objects.order_by("pk").values_list("pk", "show_id", "role")),
    )


@pytest.fixture
def berlin_channel():
    return factories.ChannelFactory(name="Sneakers", slug="sneakers", timezone="Europe/Berlin")


def _show_form(*, channel, start: dt.datetime, end: dt.datetime, **extra) -> dict:
    data = {
        "channel": str(channel.pk),
        "title": "Winter boots",
        "slug": "",
        "kind": "live",
        "description": "",
        "cover_image_url": "",
        "scheduled_start_0": f"{start:%Y-%m-%d}",
        "scheduled_start_1": f"{start:%H:%M:%S}",
        "scheduled_end_0": f"{end:%Y-%m-%d}",
        "scheduled_end_1": f"{end:%H:%M:%S}",
        "replay_allowed": "on",
        "max_pins": "3",
        "lineup-TOTAL_FORMS": "0",
        "lineup-INITIAL_FORMS": "0",
        "lineup-MIN_NUM_FORMS": "0",
        "lineup-MAX_NUM_FORMS": "1000",
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


# --- add and change ----------------------------------------------------------------


def test_merchandiser_creates_a_show_with_lineup_and_team_in_channel_time(
    merchandiser_client, berlin_channel
):
    # Given an add form opened for a Berlin channel (times read in Berlin time)
    day = monday_in_berlin(weeks_ahead=2)
    product = factories.ProductFactory()
    host = factories.UserFactory(role="host")
    data = _show_form(
        channel=berlin_channel,
        start=dt.datetime.combine(day, dt.time(20)),
        end=dt.datetime.combine(day, dt.time(21, 30)),
        **{
            "is_test": "on",
            "lineup-TOTAL_FORMS": "1",
            "lineup-0-position": "3",
            "lineup-0-product": str(product.pk),
            "lineup-0-show_price": "29.90",
            "members-TOTAL_FORMS": "1",
            "members-0-user": str(host.pk),
            "members-0-role": "host",
        },
    )

    # When the merchandiser saves it
    response = merchandiser_client.post(f"{ADD_URL}?channel={berlin_channel.pk}", data)

    # Then a draft exists at 20:00 Berlin with its lineup and team
    assert response.status_code == 302
    show = Show.objects.get()
    assert show.title == "Winter boots"
    assert show.slug == "winter-boots"
    assert show.status == Show.Status.DRAFT
    assert show.channel == berlin_channel
    assert show.scheduled_start == berlin_at(day, 20)
    assert show.scheduled_end == berlin_at(day, 21, 30)
    assert (show.is_test, show.is_private, show.replay_allowed) == (True, False, True)
    assert show.created_by == merchandiser_client.user
    assert list(show.lineup.values_list("product_id", "position", "show_price")) == [
        (product.pk, 3, Decimal("29.90"))
    ]
    assert list(show.members.values_list("user_id", "role")) == [(host.pk, "host")]


def test_add_form_without_channel_in_address_reads_times_in_the_posted_channels_zone(
    merchandiser_client, berlin_channel
):
    day = monday_in_berlin(weeks_ahead=2)
    data = _show_form(
        channel=berlin_channel,
        start=dt.datetime.combine(day, dt.time(20)),
        end=dt.datetime.combine(day, dt.time(21)),
    )

    response = merchandiser_client.post(ADD_URL, data)

    assert response.status_code == 302
    show = Show.objects.get()
    assert show.scheduled_start == berlin_at(day, 20)


def test_overlapping_show_is_refused_with_the_clash_in_channel_time(
    merchandiser_client, berlin_channel
):
    # Given a show 20:00–21:00 Berlin time
    day = monday_in_berlin(weeks_ahead=2)
    factories.ShowFactory(
        channel=berlin_channel,
        title="Sneaker drop",
        scheduled_start=berlin_at(day, 20),
        scheduled_end=berlin_at(day, 21),
    )
    before = _snapshot()

    # When a merchandiser adds one at 20:30
    response = merchandiser_client.post(
        f"{ADD_URL}?channel={berlin_channel.pk}",
        _show_form(
            channel=berlin_channel,
            start=dt.datetime.combine(day, dt.time(20, 30)),
            end=dt.datetime.combine(day, dt.time(21, 30)),
        ),
    )

    # Then the form says which show is in the way, and nothing was saved
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "scheduled_start": [
            f'This time overlaps "Sneaker drop" ({day:%Y-%m-%d} 20:00–21:00 Europe/Berlin) '
            "on the same channel. Pick a time when the channel is free."
        ]
    }
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"scheduled_end_1": "19:00:00"},
            {"scheduled_end": ["The show must end after it starts."]},
        ),
        (
            {"scheduled_start_0": "not a date", "scheduled_start_1": "25:99"},
            {"scheduled_start": ["Enter a valid date.", "Enter a valid time."]},
        ),
        (
            {"title": "x" * 5000},
            {"title": ["Ensure this value has at most 200 characters (it has 5000)."]},
        ),
        (
            {"channel": "999999"},
            {
                "channel": [
                    "Select a valid choice. That choice is not one of the available choices."
                ]
            },
        ),
        (
            {"kind": "hologram"},
            {"kind": ["Select a valid choice. hologram is not one of the available choices."]},
        ),
        (
            {
                "lineup-TOTAL_FORMS": "1",
                "lineup-0-position": "0",
                "lineup-0-product": "abc",
                "lineup-0-show_price": "-1",
            },
            None,
        ),
    ],
)
def test_add_form_refuses_garbage_and_saves_nothing(
    merchandiser_client, berlin_channel, changes, errors
):
    day = monday_in_berlin(weeks_ahead=2)
    data = _show_form(
        channel=berlin_channel,
        start=dt.datetime.combine(day, dt.time(20)),
        end=dt.datetime.combine(day, dt.time(21)),
    )
    data.update(changes)

    response = merchandiser_client.post(ADD_URL, data)

    assert response.status_code == 200
    if errors is None:
        lineup_errors = response.context["inline_admin_formsets"][0].formset.errors
        assert lineup_errors == [
            {
                "product": [
                    "Select a valid choice. That choice is not one of the available choices."
                ],
                "show_price": ["Ensure this value is greater than or equal to 0."],
            }
        ]
    else:
        assert response.context["adminform"].form.errors == errors
    assert Show.objects.count() == 0
    assert ShowProduct.objects.count() == 0


def test_changing_a_scheduled_show_goes_through_show_update(merchandiser_client, berlin_channel):
    day = monday_in_berlin(weeks_ahead=2)
    show = factories.ShowFactory(
        channel=berlin_channel,
        title="Old title",
        scheduled_start=berlin_at(day, 20),
        scheduled_end=berlin_at(day, 21),
    )
    data = _show_form(
        channel=berlin_channel,
        start=dt.datetime.combine(day, dt.time(18)),
        end=dt.datetime.combine(day, dt.time(19)),
        title="New title",
        slug=show.slug,
    )
    del data["channel"]

    response = merchandiser_client.post(f"/admin/shows/show/{show.pk}/change/", data)

    assert response.status_code == 302
    show.refresh_from_db()
    assert show.title == "New title"
    assert show.scheduled_start == berlin_at(day, 18)
    assert show.status == Show.Status.SCHEDULED


def test_a_live_show_shows_its_times_read_only(merchandiser_client, berlin_channel):
    show = factories.ShowFactory(channel=berlin_channel, status=Show.Status.LIVE)

    response = merchandiser_client.get(f"/admin/shows/show/{show.pk}/change/")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.fields["channel"].disabled is True
    assert set(form.fields) == {
        "channel",
        "title",
        "slug",
        "kind",
        "description",
        "cover_image_url",
        "is_test",
        "is_private",
        "replay_allowed",
        "max_pins",
        "show_price_while_pinned_only",
    }


# --- actions -----------------------------------------------------------------------


def _action(client: Client, action: str, shows: list[Show], **extra: str):
    return client.post(
        CHANGELIST_URL,
        {"action": action, "_selected_action": [str(show.pk) for show in shows], **extra},
    )


def test_publish_action_schedules_drafts_and_refuses_the_rest_per_show(merchandiser_client):
    draft = factories.ShowFactory(title="Draft one", status=Show.Status.DRAFT)
    ended = factories.ShowFactory(title="Done", status=Show.Status.ENDED)

    response = _action(merchandiser_client, "publish_selected", [draft, ended])

    assert response.status_code == 302
    assert _messages(response) == [
        '"Done": An ended show cannot become scheduled.',
        "1 show published.",
    ]
    draft.refresh_from_db()
    ended.refresh_from_db()
    assert draft.status == Show.Status.SCHEDULED
    assert ended.status == Show.Status.ENDED


def test_publish_action_refuses_a_draft_whose_slot_was_taken(merchandiser_client):
    channel = factories.ChannelFactory(timezone="UTC")
    taken = factories.ShowFactory(channel=channel, title="First come")
    draft = factories.ShowFactory(
        channel=channel,
        title="Late draft",
        status=Show.Status.DRAFT,
        scheduled_start=taken.scheduled_start,
        scheduled_end=taken.scheduled_end,
    )
    before = _snapshot()

    response = _action(merchandiser_client, "publish_selected", [draft])

    assert _messages(response) == [
        f'"Late draft": This time overlaps "First come" '
        f"({taken.scheduled_start:%Y-%m-%d %H:%M}–{taken.scheduled_end:%H:%M} UTC) on the same "
        "channel. Pick a time when the channel is free."
    ]
    assert _snapshot() == before


def test_cancel_action_cancels_and_tells_subscribers_after_commit(
    merchandiser_client, django_capture_on_commit_callbacks
):
    show = factories.ShowFactory(title="Rainy day")
    factories.ShowReminderFactory(show=show, user=factories.UserFactory(email="fan@example.com"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _action(
            merchandiser_client,
            "cancel_selected",
            [show],
            post="yes",
            reason="The host is ill.",
        )

    assert _messages(response) == ["1 show cancelled."]
    # The show channel's events and the cancellation task are queued after commit;
    # the delivery then queues its notification hook after its own commit.
    queued = [callback.args for callback in callbacks if isinstance(callback, functools.partial)]
    assert (show_cancellation_notify, {"show_id": show.pk}) in queued
    show.refresh_from_db()
    assert show.status == Show.Status.CANCELLED
    assert show.cancelled_at is not None
    assert show.cancellation_reason == "The host is ill."
    assert [(message.subject, message.to) for message in mail.outbox] == [
        ("Cancelled: Rainy day", ["fan@example.com"])
    ]
    assert "The host is ill." in mail.outbox[0].body


def test_cancel_action_asks_for_confirmation_first(
    merchandiser_client, berlin_channel, django_capture_on_commit_callbacks
):
    day = monday_in_berlin(weeks_ahead=2)
    show = factories.ShowFactory(
        channel=berlin_channel,
        title="Rainy day",
        scheduled_start=berlin_at(day, 20),
        scheduled_end=berlin_at(day, 21),
    )
    before = _snapshot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _action(merchandiser_client, "cancel_selected", [show])

    assert response.status_code == 200
    html = response.content.decode()
    assert f"<span>{day:%a %-d %b %Y} 20:00–21:00 (Europe/Berlin)</span>" in html
    assert f'<input type="hidden" name="_selected_action" value="{show.pk}">' in html
    assert callbacks == []
    assert _snapshot() == before


def test_cancel_action_refuses_a_huge_reason_and_changes_nothing(merchandiser_client):
    show = factories.ShowFactory(title="Rainy day")
    before = _snapshot()

    response = _action(
        merchandiser_client, "cancel_selected", [show], post="yes", reason="x" * 10_000
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "reason": ["Ensure this value has at most 300 characters (it has 10000)."]
    }
    assert _snapshot() == before


def test_cancel_action_on_an_ended_show_changes_nothing(
    merchandiser_client, django_capture_on_commit_callbacks
):
    show = factories.ShowFactory(title="Yesterday", status=Show.Status.ENDED)
    factories.ShowReminderFactory(show=show, user=factories.UserFactory(email="fan@example.com"))
    before = _snapshot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _action(merchandiser_client, "cancel_selected", [show], post="yes")

    assert _messages(response) == ['"Yesterday": An ended show cannot become cancelled.']
    assert callbacks == []
    assert mail.outbox == []
    assert _snapshot() == before


# --- access ------------------------------------------------------------------------


def test_viewer_is_sent_to_the_admin_login(berlin_channel):
    client = Client()
    client.force_login(user_create(username="vic", password=None, role="viewer"))

    for url in (SCHEDULE_URL, ADD_URL, CHANGELIST_URL):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_staff_without_shows_permission_is_forbidden(berlin_channel):
    show = factories.ShowFactory(channel=berlin_channel)
    staff = factories.UserFactory(is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get(SCHEDULE_URL).status_code == 403
    assert client.get(f"/admin/shows/show/{show.pk}/duplicate/").status_code == 403
    assert client.get(CHANGELIST_URL).status_code == 403


def test_merchandiser_can_search_users_for_the_team(merchandiser_client):
    factories.UserFactory(username="hostess", display_name="Hanna Host")
    factories.UserFactory(username="viewer", display_name="Val")

    response = merchandiser_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "shows",
            "model_name": "showmember",
            "field_name": "user",
            "term": "hostess",
        },
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Hanna Host"]


def test_renaming_a_show_to_a_slug_taken_on_its_channel_is_a_form_error(
    merchandiser_client, berlin_channel
):
    factories.ShowFactory(channel=berlin_channel, slug="taken")
    show = factories.ShowFactory(channel=berlin_channel, slug="mine")
    data = _show_form(
        channel=berlin_channel,
        start=show.scheduled_start.astimezone(BERLIN).replace(tzinfo=None),
        end=show.scheduled_end.astimezone(BERLIN).replace(tzinfo=None),
        slug="taken",
    )
    before = _snapshot()

    response = merchandiser_client.post(f"/admin/shows/show/{show.pk}/change/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Show with this Channel and Slug already exists."]
    }
    assert _snapshot() == before
    show.refresh_from_db()
    assert show.slug == "mine"


@pytest.mark.parametrize("object_id", ["abc", "424242", "1%20OR%201=1"])
def test_change_page_of_a_missing_show_redirects_like_django_does(merchandiser_client, object_id):
    response = merchandiser_client.get(f"/admin/shows/show/{object_id}/change/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("channel_param", ["²", "9" * 40, "-1", "abc", ""])
def test_add_page_survives_a_garbage_channel_parameter(merchandiser_client, channel_param):
    response = merchandiser_client.get(ADD_URL, {"channel": channel_param})

    assert response.status_code == 200
    assert response.context["adminform"].form.fields["scheduled_start"].help_text == (
        "In the time zone of the channel chosen above (shown after its name)."
    )


def test_a_show_price_edited_while_pinned_reaches_viewers(merchandiser_client, berlin_channel):
    from shows.models import ShowEvent
    from shows.services import show_product_pin

    show = factories.ShowFactory(
        channel=berlin_channel, status=Show.Status.LIVE, actual_start=timezone.now()
    )
    variant = factories.VariantFactory(price=Decimal("30.00"))
    item = factories.ShowProductFactory(show=show, product=variant.product, position=0)
    pin = show_product_pin(show=show, product_id=variant.product_id, actor=merchandiser_client.user)
    start = timezone.localtime(show.scheduled_start, zoneinfo.ZoneInfo("Europe/Berlin"))
    end = timezone.localtime(show.scheduled_end, zoneinfo.ZoneInfo("Europe/Berlin"))
    data = _show_form(
        channel=berlin_channel,
        start=start,
        end=end,
        title=show.title,
        slug=show.slug,
        max_pins="2",
        **{
            "lineup-TOTAL_FORMS": "1",
            "lineup-INITIAL_FORMS": "1",
            "lineup-0-id": str(item.pk),
            "lineup-0-show": str(show.pk),
            "lineup-0-position": "0",
            "lineup-0-product": str(variant.product_id),
            "lineup-0-show_price": "19.00",
        },
    )
    del data["channel"]

    response = merchandiser_client.post(f"/admin/shows/show/{show.pk}/change/", data)

    assert response.status_code == 302
    show.refresh_from_db()
    assert show.max_pins == 2
    event = ShowEvent.objects.filter(show=show).latest("seq")
    assert event.type == "product.updated"
    assert event.data["id"] == pin.pk
    assert event.data["product"]["variants"][0]["show_price"] == "19.00"
