"""The studio console in a real browser, against a real server process and Redis.

The viewer side is a phone on the viewer page: its chat list (``#messages``)
for messages and its product cards (``#products``) for pinned products.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import ChatMessage, ChatSanction, ChatSettings
from chat.services import chat_message_create
from liveshop.accounts.models import User
from shows.models import Show, ShowMember, ShowPin
from tests import factories
from tests.browser import DESKTOP, screenshot
from video.models import ShowStream
from video.providers import video_provider_get

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]


def live_show(**fields) -> Show:
    return factories.ShowFactory(
        status=Show.Status.LIVE, actual_start=timezone.now(), title="Winter warmers", **fields
    )


def member(show: Show, username: str, role: str) -> None:
    factories.ShowMemberFactory(show=show, user=factories.UserFactory(username=username), role=role)


def lineup_product(show: Show, title: str):
    product = factories.ProductFactory(title=title)
    factories.VariantFactory(product=product, price=Decimal("49.00"))
    factories.ShowProductFactory(show=show, product=product)
    return product


def message_post(show: Show, username: str, text: str, *, question: bool = False) -> ChatMessage:
    user = User.objects.filter(username=username).first() or factories.UserFactory(
        username=username
    )
    result = chat_message_create(
        show_id=show.pk, user=user, text=text, client_msg_id=uuid.uuid4(), is_question=question
    )
    return result.message


def studio_open(page, show: Show) -> None:
    page.goto(f"/studio/shows/{show.public_id}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    expect(page.locator("#studio")).to_have_attribute("data-ready", "true")


def viewer_open(page, show: Show) -> None:
    page.goto(f"/shows/{show.public_id}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")


def inside(inner: dict, outer: dict) -> bool:
    """Whether bounding box ``inner`` lies within ``outer``."""
    return (
        outer["x"] <= inner["x"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and outer["y"] <= inner["y"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def viewer_bystander_studio(phone, desktop, show: Show, *, viewer: str, team: str) -> tuple:
    """A signed-in viewer's page, an anonymous viewer's page and a team member's studio."""
    pages = (phone(viewer), phone(), desktop(team))
    viewer_open(pages[0], show)
    viewer_open(pages[1], show)
    studio_open(pages[2], show)
    return pages


def test_moderator_pins_unpins_and_ends_the_show_as_the_viewer_sees_it(desktop, phone):
    show = live_show()
    member(show, "mo", ShowMember.Role.MODERATOR)
    boots = lineup_product(show, "Lined boots")
    lineup_product(show, "Wool scarf")
    factories.UserFactory(username="vera")
    viewer = phone("vera")
    viewer_open(viewer, show)
    cards = viewer.locator("#products .product-card")
    studio = desktop("mo")
    studio_open(studio, show)
    expect(studio.locator("#lineup .title")).to_have_text(["Lined boots", "Wool scarf"])

    studio.get_by_role("button", name="Pin Lined boots").click()

    expect(studio.locator("#studio-notice")).to_have_text("Pinned Lined boots.")
    expect(cards.locator(".product-title")).to_have_text(["Lined boots"])
    row = studio.locator("#lineup li", has_text="Lined boots")
    expect(row).to_have_attribute("data-pinned", "true")
    expect(row.get_by_role("button")).to_have_text("Unpin Lined boots")
    expect(studio.locator("#pin-count")).to_have_text("1 pinned now.")
    assert list(ShowPin.objects.filter(show=show).values_list("product_id", "unpinned_at")) == [
        (boots.pk, None)
    ]
    # The viewer's card's add-to-cart link is followed: the studio's numbers follow.
    link = cards.get_by_role("link", name="Add Lined boots to cart").get_attribute("href")
    cart = viewer.request.get(link, max_redirects=0)
    assert cart.status == 302
    assert cart.headers["location"].startswith("/shop/cart/add?sku=")
    expect(studio.locator("#stat-clicks")).to_have_text("1")
    expect(row.locator(".meta")).to_have_text("49.00 EUR · 1 click · 0 orders · pinned")
    # The viewer's phone; the team's own sockets are not viewers.
    expect(studio.locator("#stat-viewers")).to_have_text("1")
    screenshot(studio, "studio-desktop-pinned")
    # The laptop at 200 % zoom: half the CSS pixels, one column, no sideways scrolling.
    studio.set_viewport_size({"width": 640, "height": 450})
    assert studio.evaluate("() => document.documentElement.scrollWidth") == 640
    screenshot(studio, "studio-desktop-zoom-200")
    studio.set_viewport_size(DESKTOP["viewport"])

    row.get_by_role("button", name="Unpin Lined boots").click()
    expect(cards).to_have_count(0)
    expect(row).to_have_attribute("data-pinned", "false")
    expect(studio.locator("#studio-notice")).to_have_text("Unpinned Lined boots.")
    expect(viewer.locator("#send-form")).to_be_visible()

    studio.get_by_role("button", name="End show").click()
    studio.get_by_role("button", name="Yes, end the show").click()
    expect(viewer.locator("#show-status")).to_have_text("ended")
    expect(studio.locator("#show-status")).to_have_text("ended")
    expect(studio.get_by_role("button", name="End show")).to_be_hidden()
    expect(studio.get_by_role("button", name="Pin Lined boots")).to_have_count(0)
    # The chat closes with the show: the viewer is told, and offered no form
    expect(viewer.locator("#chat-closed")).to_have_text("The chat is closed.")
    expect(viewer.locator("#chat-closed")).to_be_visible()
    expect(viewer.locator("#send-form")).to_be_hidden()
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED


def test_moderator_hides_a_viewers_message_and_it_disappears_for_the_viewer(phone):
    show = live_show()
    member(show, "mo", ShowMember.Role.MODERATOR)
    message = message_post(show, "vera", "Is the scarf pure wool?")
    viewer = phone("vera")
    viewer_open(viewer, show)
    expect(viewer.locator("#messages .text")).to_have_text(["Is the scarf pure wool?"])
    # Moderators run shows from their phones too.
    studio = phone("mo")
    studio_open(studio, show)

    studio.get_by_text("Actions for message from vera").click()
    # Nothing wider than the phone: no sideways scrolling (nor at 200 % zoom on a laptop).
    assert studio.evaluate("() => document.documentElement.scrollWidth") == 390
    screenshot(studio, "studio-phone-moderator")
    studio.get_by_role("button", name="Hide message from vera").click()

    expect(studio.locator("#studio-notice")).to_have_text("Message from vera hidden.")
    expect(viewer.locator("#messages .text")).to_have_count(0)
    expect(studio.locator("#studio-messages li")).to_have_count(0)
    message.refresh_from_db()
    assert message.state == ChatMessage.State.HIDDEN


def test_moderator_sets_slow_mode_times_out_a_viewer_and_pins_a_message(desktop, phone):
    show = live_show()
    member(show, "mo", ShowMember.Role.MODERATOR)
    message = message_post(show, "vera", "First!")
    viewer = phone("vera")
    viewer_open(viewer, show)
    studio = desktop("mo")
    studio_open(studio, show)

    studio.get_by_label("Slow mode").select_option("30")
    studio.get_by_role("button", name="Set slow mode").click()
    expect(viewer.locator("#messages .text")).to_have_text(
        ["First!", "Slow mode is on: one message every 30 s."]
    )
    studio.get_by_text("Actions for message from vera").click()
    studio.get_by_label("Time-out length for vera").select_option("600")
    studio.get_by_role("button", name="Time out vera").click()
    expect(studio.locator("#studio-notice")).to_contain_text("vera is timed out until")
    sanction = ChatSanction.objects.get(user=message.author)
    assert (sanction.kind, sanction.show_id, sanction.created_by.username) == (
        ChatSanction.Kind.TIMEOUT,
        show.pk,
        "mo",
    )
    assert (sanction.expires_at - sanction.created_at).total_seconds() == pytest.approx(600, abs=1)
    viewer.get_by_label("Message").fill("Why so slow?")
    viewer.get_by_role("button", name="Send").click()
    clock = sanction.expires_at.astimezone(dt.UTC).strftime("%H:%M:%S UTC")
    expect(viewer.locator("#send-error")).to_have_text(
        f"You are timed out in this chat until {clock}."
    )
    expect(studio.locator("#sanctions .text")).to_have_text(["vera: timed out"])
    studio.get_by_role("button", name="Lift vera's time-out").click()
    expect(studio.locator("#sanctions li")).to_have_count(0)
    sanction.refresh_from_db()
    assert sanction.revoked_at is not None

    studio.get_by_role("button", name="Pin message from vera").click()
    expect(studio.locator("#pinned-text")).to_have_text("vera: First!")
    expect(studio.locator("#studio-notice")).to_have_text("Message from vera pinned.")
    assert ChatSettings.objects.get(show=show).pinned_message_id == message.pk
    # The unpin button is whole inside its box, on the laptop and on a phone
    unpin = studio.get_by_role("button", name="Unpin message")
    for viewport in ({"width": 390, "height": 844}, DESKTOP["viewport"]):
        studio.set_viewport_size(viewport)
        expect(unpin).to_be_visible()
        assert inside(unpin.bounding_box(), studio.locator("#pinned-message").bounding_box())
    unpin.click()
    expect(studio.locator("#pinned-message")).to_be_hidden()
    expect(studio.locator("#studio-notice")).to_have_text("Message unpinned.")
    assert ChatSettings.objects.get(show=show).pinned_message_id is None
    studio.get_by_text("Moderation log").click()
    expect(studio.locator("#moderation-log .what")).to_have_text(
        [
            "mo unpinned a message from vera",
            "mo pinned a message from vera",
            "mo lifted a sanction of vera",
            "mo timed out vera",
            "mo changed slow mode",
        ]
    )


def test_links_from_a_viewer_wait_for_review_approve_publishes_deny_removes(desktop, phone):
    show = live_show()
    member(show, "mo", ShowMember.Role.MODERATOR)
    factories.UserFactory(username="vera")
    author, bystander, studio = viewer_bystander_studio(
        phone, desktop, show, viewer="vera", team="mo"
    )

    for text in ("Cheaper here: https://example.com/deal", "And https://example.com/spam"):
        author.get_by_label("Message").fill(text)
        author.get_by_role("button", name="Send").click()

    held = studio.locator("#held li")
    expect(held.locator(".text")).to_have_text(
        ["Cheaper here: https://example.com/deal", "And https://example.com/spam"]
    )
    expect(bystander.locator("#messages .text")).to_have_count(0)
    screenshot(studio, "studio-desktop-held")
    held.filter(has_text="Cheaper").get_by_role("button", name="Approve message from vera").click()
    expect(studio.locator("#studio-notice")).to_have_text("Message from vera approved.")
    held.filter(has_text="spam").get_by_role("button", name="Deny message from vera").click()
    expect(studio.locator("#studio-notice")).to_have_text("Message from vera denied.")

    expect(bystander.locator("#messages .text")).to_have_text(
        ["Cheaper here: https://example.com/deal"]
    )
    # The denied message also leaves its author's chat.
    expect(author.locator("#messages .text")).to_have_text(
        ["Cheaper here: https://example.com/deal"]
    )
    expect(held).to_have_count(0)
    assert list(
        ChatMessage.objects.filter(show=show).order_by("pk").values_list("visibility", "state")
    ) == [
        (ChatMessage.Visibility.PUBLIC, ChatMessage.State.VISIBLE),
        (ChatMessage.Visibility.HELD, ChatMessage.State.DENIED),
    ]
    # A viewer's link stays text, also for the team.
    expect(studio.locator("#studio-messages a")).to_have_count(0)


def test_staff_claims_a_question_and_answers_privately_then_another_publicly(desktop, phone):
    show = live_show()
    member(show, "sam", ShowMember.Role.SERVICE_STAFF)
    first = message_post(show, "quinn", "Do the boots run small?", question=True)
    second = message_post(show, "quinn", "Is there a size 46?", question=True)
    asker, bystander, studio = viewer_bystander_studio(
        phone, desktop, show, viewer="quinn", team="sam"
    )
    questions = studio.locator("#questions li")
    expect(questions.locator(".text")).to_have_text(
        ["Do the boots run small?", "Is there a size 46?"]
    )
    # Staff answer questions; they do not moderate, pin or stream.
    for panel in ("#lineup-panel", "#held-panel", "#stream-panel", "#show-panel"):
        expect(studio.locator(panel)).to_be_hidden()
    expect(studio.locator("#studio-messages details")).to_have_count(0)

    first_item = questions.filter(has_text="Do the boots run small?")
    first_item.get_by_role("button", name="Claim question from quinn").click()
    expect(first_item.locator(".meta")).to_have_text("from quinn · claimed by you")
    first_item.get_by_label("Answer to quinn").fill("They run half a size small.")
    first_item.get_by_label("Private: only quinn and the team see it").check()
    first_item.get_by_role("button", name="Send answer").click()
    expect(studio.locator("#studio-notice")).to_have_text("Answered quinn privately.")

    second_item = questions.filter(has_text="Is there a size 46?")
    second_item.get_by_label("Answer to quinn").fill("Yes, in black.")
    second_item.get_by_role("button", name="Send answer").click()

    expect(asker.locator("#messages .text")).to_have_text(
        [
            "Do the boots run small?",
            "Is there a size 46?",
            "They run half a size small.",
            "Yes, in black.",
        ]
    )
    # The public answer came after the private one, so the bystander has had
    # every event the private answer could have produced.
    expect(bystander.locator("#messages .text")).to_have_text(
        ["Do the boots run small?", "Is there a size 46?", "Yes, in black."]
    )
    expect(questions).to_have_count(0)
    answers = ChatMessage.objects.filter(show=show, kind=ChatMessage.Kind.ANSWER).order_by("pk")
    assert [(a.answer_to_id, a.visibility, a.author.username) for a in answers] == [
        (first.pk, ChatMessage.Visibility.PRIVATE, "sam"),
        (second.pk, ChatMessage.Visibility.PUBLIC, "sam"),
    ]
    screenshot(studio, "studio-desktop-staff")


def test_the_host_sees_the_stream_key_and_ingest_url_the_moderator_does_not(desktop):
    show = live_show()
    member(show, "hana", ShowMember.Role.HOST)
    member(show, "mo", ShowMember.Role.MODERATOR)
    host = desktop("hana")
    studio_open(host, show)
    moderator = desktop("mo")
    studio_open(moderator, show)

    provider = video_provider_get()
    stream = ShowStream.objects.get(show=show)
    expect(host.locator("#ingest-url")).to_have_value(provider.ingest_url())
    expect(host.locator("#stream-key")).to_have_value(
        provider.stream_key_format(public_id=show.public_id, secret=stream.secret)
    )
    expect(host.locator("#stream-key")).to_have_attribute("type", "password")
    host.get_by_role("button", name="Show key").click()
    expect(host.locator("#stream-key")).to_have_attribute("type", "text")
    expect(moderator.locator("#stream-panel")).to_be_hidden()
    expect(moderator.locator("#stream-key")).to_have_value("")
    expect(moderator.locator("#lineup-panel")).to_be_visible()


def test_a_plain_viewer_on_the_studio_is_offered_nothing(phone):
    show = live_show()
    message_post(show, "vera", "Hello from the sofa")
    factories.UserFactory(username="otto")
    page = phone("otto")
    page.goto(f"/studio/shows/{show.public_id}/")
    expect(page.locator("#studio")).to_have_attribute("aria-busy", "false")

    expect(page.locator("#not-team")).to_be_visible()
    expect(page.locator("#studio button:visible")).to_have_count(0)
    expect(page.locator("#studio :is(input, select, textarea):visible")).to_have_count(0)
    expect(page.locator("#studio-messages li")).to_have_count(0)
    screenshot(page, "studio-phone-not-team")


def test_a_pin_the_server_refuses_shows_its_detail_and_changes_nothing(desktop):
    show = live_show()
    member(show, "mo", ShowMember.Role.MODERATOR)
    lineup_product(show, "Lined boots")
    studio = desktop("mo")
    studio_open(studio, show)
    # Moved to another show while the studio was open.
    ShowMember.objects.filter(show=show, user__username="mo").update(show=live_show())

    studio.get_by_role("button", name="Pin Lined boots").click()

    expect(studio.locator("#studio-error")).to_have_text(
        "Only the show's hosts and moderators may pin products."
    )
    assert ShowPin.objects.filter(show=show).count() == 0
    expect(studio.locator("#lineup li")).to_have_attribute("data-pinned", "false")
