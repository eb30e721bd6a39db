"""The viewer page in a real browser, against a real server process and Redis.

Moderators act through the REST API with their token, as the studio or any
other client would; viewers only through the page.
"""

import datetime as dt
import secrets
import shutil
import subprocess
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from catalog.models import CartAddition, LinkClick
from catalog.services.stock import variant_stock_adjust
from chat.models import ChatMessage
from chat.services import chat_message_create, message_pin
from shows.models import Show, ShowMember, ShowReminder
from shows.services import show_end, show_product_pin, show_product_unpin
from tests import factories
from tests.browser import screenshot
from video.mediaserver import MediaServer, MediaServerConfig, port_free_pick
from video.models import IngestSession, Recording
from video.services import recording_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]


# Chromium reports every layout shift of the page (the Layout Instability API).
LAYOUT_SHIFTS_RECORD = """
window.layoutShifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.layoutShifts.push(entry.value);
  }
}).observe({ type: "layout-shift" });
"""


def _live_show(**fields) -> Show:
    fields.setdefault("actual_start", timezone.now())
    return factories.ShowFactory(status=Show.Status.LIVE, **fields)


def _moderator_api(site: str, show: Show) -> httpx.Client:
    """A REST client of a moderator of ``show``, authenticated with a token."""
    moderator = factories.UserFactory(username="mo")
    factories.ShowMemberFactory(show=show, user=moderator, role=ShowMember.Role.MODERATOR)
    token = Token.objects.create(user=moderator)
    return httpx.Client(
        base_url=f"{site}/api/v1/", headers={"Authorization": f"Token {token.key}"}, timeout=10
    )


def _open(page, show: Show) -> None:
    page.goto(f"/shows/{show.public_id}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")


def _two_viewers(phone, show: Show):
    """vera and otto, signed in on their own phones, on the show's page."""
    pages = []
    for username in ("vera", "otto"):
        factories.UserFactory(username=username)
        pages.append(phone(username))
        _open(pages[-1], show)
    return pages


# A 1×1 GIF: the card has its image without a request leaving the machine.
PIXEL_URL = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


def _say(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_viewer_sees_a_second_viewers_message_within_a_second(phone):
    # Given the page at its fullest: a long chat with a pinned message, and a
    # pinned product with a long title and three variants
    show = _live_show(title="Autumn layers")
    moderator = factories.UserFactory(username="mo")
    factories.ShowMemberFactory(show=show, user=moderator, role=ShowMember.Role.MODERATOR)
    earlier = [
        chat_message_create(
            show_id=show.pk,
            user=factories.UserFactory(username=f"early{number}"),
            text=f"Earlier message {number}",
            client_msg_id=uuid.uuid4(),
        ).message
        for number in range(20)
    ]
    message_pin(actor=moderator, show=show, message_id=earlier[0].pk)
    jacket = factories.ProductFactory(title="Denim jacket with detachable shearling collar")
    factories.ProductImageFactory(product=jacket, url=PIXEL_URL)
    for size in ("Small", "Medium", "Large"):
        factories.VariantFactory(product=jacket, title=size)
    show_product_pin(show=show, product_id=jacket.pk, actor=moderator)
    watcher, sender = _two_viewers(phone, show)
    expect(watcher.locator("#show-title")).to_have_text("Autumn layers")
    expect(watcher.locator(".add-to-cart")).to_have_count(3)

    watcher.evaluate(LAYOUT_SHIFTS_RECORD)

    _say(sender, "Does the coat come in green?")
    # The bar: the other viewer sees it within a second.
    expect(watcher.locator("#messages .text").last).to_have_text(
        "Does the coat come in green?", timeout=1_000
    )
    for number in range(2, 5):
        _say(sender, f"message {number}")
    expect(watcher.locator("#messages .text")).to_have_count(24)
    # The long chat follows the newest message
    assert watcher.locator("#messages").evaluate(
        "list => list.scrollHeight - list.scrollTop - list.clientHeight < 1"
    )
    # Arriving messages scroll inside the chat: nothing else on the page moves.
    assert watcher.evaluate("window.layoutShifts") == []
    screenshot(watcher, "viewer-live-chat")

    # On a phone, a small phone and at 200% zoom (a 390 px phone then lays out
    # 195 CSS px): no sideways scrolling, every add-to-cart button on the
    # screen, and the pinned message whole above the long chat.
    pinned = watcher.locator("#pinned-message")
    expect(pinned).to_have_text("Pinned early0: Earlier message 0")
    for width, height in ((390, 844), (360, 780), (195, 422)):
        watcher.set_viewport_size({"width": width, "height": height})
        assert watcher.evaluate("document.documentElement.scrollWidth") == width
        for link in watcher.locator(".add-to-cart").all():
            box = link.bounding_box()
            assert 0 <= box["x"] <= box["x"] + box["width"] <= width, (width, box)
        assert pinned.evaluate("box => box.scrollHeight - box.clientHeight") == 0
    screenshot(watcher, "viewer-live-chat-zoom-200")


def test_a_pinned_product_appears_with_live_stock_and_add_to_cart_reaches_the_demo_cart(
    phone, site
):
    # Given a live show with a product at a show price and three units left
    show = _live_show(title="Knitwear hour")
    product = factories.ProductFactory(title="Wool scarf")
    variant = factories.VariantFactory(product=product, price=Decimal("24.50"), stock_quantity=3)
    factories.ShowProductFactory(show=show, product=product, show_price=Decimal("19.00"))
    moderator = _moderator_api(site, show)
    factories.UserFactory(username="vera")
    viewer = phone("vera")
    _open(viewer, show)
    expect(viewer.locator("#products-empty")).to_be_visible()

    # When the moderator pins it
    answer = moderator.post(f"shows/{show.public_id}/pins", json={"product_id": product.pk})
    assert answer.status_code == 201
    pin_id = answer.json()["id"]

    # Then the card appears with the show price and the stock
    card = viewer.locator(f'.product-card[data-pin-id="{pin_id}"]')
    expect(card.locator(".product-title")).to_have_text("Wool scarf")
    expect(card.locator(".price")).to_have_text("Show price 19.00 EUR 24.50 EUR")
    expect(card.locator(".stock")).to_have_text("Only 3 left")
    expect(viewer.locator("#products-empty")).to_be_hidden()

    # When a unit sells elsewhere, the card follows without a reload
    variant_stock_adjust(storefront=product.storefront, sku=variant.sku, delta=-1)
    expect(card.locator(".stock")).to_have_text("Only 2 left")
    screenshot(viewer, "viewer-pinned-product")

    # When the viewer adds it to the cart, the tracked link leads into the demo cart
    card.get_by_role("link", name="Add Wool scarf to cart").click()
    viewer.wait_for_url("**/shop/cart")
    expect(viewer.get_by_role("heading", name="Your cart")).to_be_visible()
    line = viewer.locator("table tr").nth(1).locator("td")
    expect(line.nth(0)).to_have_text(f"Wool scarf (Default){variant.sku}")
    expect(line.nth(1)).to_have_text("19.00 EUR")
    screenshot(viewer, "viewer-demo-cart")
    assert LinkClick.objects.filter(show=show, pin_id=pin_id, variant=variant).count() == 1
    addition = CartAddition.objects.get(variant=variant)
    assert (addition.show_id, addition.pin_id, addition.quantity) == (show.pk, pin_id, 1)


def test_a_message_a_moderator_hides_disappears_for_the_viewer(phone, site):
    show = _live_show()
    moderator = _moderator_api(site, show)
    watcher, spammer = _two_viewers(phone, show)
    _say(spammer, "Cheap watches, ask me")
    _say(spammer, "Is the scarf itchy?")
    expect(watcher.locator("#messages .text")).to_have_text(
        ["Cheap watches, ask me", "Is the scarf itchy?"]
    )
    message = ChatMessage.objects.get(show=show, text="Cheap watches, ask me")

    answer = moderator.post(
        f"shows/{show.public_id}/messages/{message.pk}/hide", json={"reason": "spam"}
    )

    assert answer.status_code == 200
    expect(watcher.locator("#messages .text")).to_have_text(["Is the scarf itchy?"])
    expect(spammer.locator("#messages .text")).to_have_text(["Is the scarf itchy?"])

    # The moderator pins the good question over the chat
    question = ChatMessage.objects.get(show=show, text="Is the scarf itchy?")
    answer = moderator.post(f"shows/{show.public_id}/messages/{question.pk}/pin")
    assert answer.status_code == 200
    expect(watcher.locator("#pinned-message")).to_have_text("Pinned otto: Is the scarf itchy?")
    screenshot(watcher, "viewer-after-hide")


def test_after_the_network_drops_or_the_phone_sleeps_every_message_arrives_once_in_order(phone):
    show = _live_show()
    watcher, sender = _two_viewers(phone, show)
    _say(sender, "before the tunnel")
    expect(watcher.locator("#messages .text")).to_have_text(["before the tunnel"])

    # When the watcher's phone loses the network
    watcher.context.set_offline(True)
    expect(watcher.locator("#connection")).to_have_attribute("data-state", "offline")
    # the others keep talking, and the watcher writes a message that must wait
    for text in ("one", "two", "three"):
        _say(sender, text)
    expect(sender.locator("#messages .text")).to_have_text(
        ["before the tunnel", "one", "two", "three"]
    )
    _say(watcher, "sent in the tunnel")
    expect(watcher.locator("#messages .text")).to_have_text(["before the tunnel"])

    # Then, back online, the page resumes from its last seq: nothing lost, nothing twice
    watcher.context.set_offline(False)
    expected = ["before the tunnel", "one", "two", "three", "sent in the tunnel"]
    expect(watcher.locator("#messages .text")).to_have_text(expected)
    expect(sender.locator("#messages .text")).to_have_text(expected)
    expect(watcher.locator("#show")).to_have_attribute("data-resumes", "1")
    expect(watcher.locator("#show")).to_have_attribute("data-resyncs", "0")
    assert ChatMessage.objects.filter(show=show, text="sent in the tunnel").count() == 1
    screenshot(watcher, "viewer-after-reconnect")

    # When the phone sleeps (the page is frozen) the chat goes on, and on waking
    # the page catches up, still exactly once
    lifecycle = watcher.context.new_cdp_session(watcher)
    lifecycle.send("Page.setWebLifecycleState", {"state": "frozen"})
    _say(sender, "while you slept")
    expect(sender.locator("#messages .text")).to_have_text([*expected, "while you slept"])
    lifecycle.send("Page.setWebLifecycleState", {"state": "active"})
    expect(watcher.locator("#messages .text")).to_have_text([*expected, "while you slept"])
    expect(watcher.locator("#connection")).to_have_attribute("data-state", "open")


def test_a_message_with_html_shows_as_text_in_the_chat_and_in_replies(phone):
    show = _live_show()
    watcher, sender = _two_viewers(phone, show)
    text = '<script>window.injected = 1</script><b>bold</b> <img src=x onerror="window.injected=2">'

    _say(sender, text)

    expect(watcher.locator("#messages .text")).to_have_text([text])
    # A reply quotes it, as text too; the reply is a question for the team.
    watcher.get_by_role("button", name="Reply to otto").click()
    expect(watcher.locator("#replying-text")).to_have_text("Replying to otto")
    watcher.get_by_label("Ask the team a question").check()
    _say(watcher, "What does this mean?")
    reply = sender.locator("#messages .message").nth(1)
    expect(reply.locator(".quote")).to_have_text(f"↪ otto: {text}")
    expect(reply.locator(".text")).to_have_text("What does this mean?")
    expect(reply.locator(".message-note")).to_have_text("Question")
    for page in (watcher, sender):
        assert page.locator("#messages script, #messages b, #messages img").count() == 0
        assert page.evaluate("window.injected") is None
    question = ChatMessage.objects.get(show=show, text="What does this mean?")
    assert (question.is_question, question.reply_to.text) == (True, text)
    screenshot(sender, "viewer-html-as-text")

    # Reactions are counted for everyone
    assert sender.evaluate("document.documentElement.scrollWidth") == 390
    sender.get_by_role("button", name="Heart").click()
    expect(watcher.locator('[data-count-for="heart"]')).to_have_text("1")


def test_anonymous_viewers_are_asked_to_sign_in_and_a_missing_show_says_so(phone):
    show = _live_show(title="Open house")
    chat_message_create(
        show_id=show.pk,
        user=factories.UserFactory(),
        text="hello from earlier",
        client_msg_id=uuid.uuid4(),
    )
    anonymous = phone()
    _open(anonymous, show)
    expect(anonymous.locator("#messages .text")).to_have_text(["hello from earlier"])
    expect(anonymous.locator("#sign-in-to-chat")).to_have_text("Sign in to chat.")
    expect(anonymous.locator("#send-form")).to_be_hidden()

    anonymous.goto("/shows/NoSuchShow12/")

    expect(anonymous.locator("#show-title")).to_have_text("Show not found")
    expect(anonymous.locator("#connection")).to_have_text(
        "This show does not exist or is not public."
    )
    # Nothing of a show is left: only the way back
    expect(anonymous.get_by_role("link", name="Back to the schedule")).to_have_attribute(
        "href", "/"
    )
    for part in (".stage", ".products", ".chat", ".show-meta"):
        expect(anonymous.locator(part)).to_be_hidden()
    screenshot(anonymous, "viewer-show-not-found")


def test_the_schedule_and_the_show_page_count_down_and_remind_me(phone):
    # Given a show in two hours, another one live and one over
    show = factories.ShowFactory(
        title="Spring preview", scheduled_start=timezone.now() + dt.timedelta(hours=2, minutes=5)
    )
    _live_show(title="On air", channel=show.channel)
    cancelled = factories.ShowFactory(
        title="Called off",
        channel=show.channel,
        status=Show.Status.CANCELLED,
        cancellation_reason="The host is ill.",
        scheduled_start=timezone.now() + dt.timedelta(hours=4),
        scheduled_end=timezone.now() + dt.timedelta(hours=5),
    )
    vera = factories.UserFactory(username="vera")
    factories.ShowReminderFactory(show=cancelled, user=vera)
    viewer = phone("vera")

    # When vera opens the channel's schedule and asks for a reminder
    viewer.goto(f"/channels/{show.channel.slug}/")
    expect(viewer.locator("#channel-title")).to_have_text(show.channel.name)
    expect(viewer.locator("#live .show-link")).to_have_text(["On air"])
    upcoming = viewer.locator(f'#upcoming [data-public-id="{show.public_id}"]')
    expect(upcoming.locator(".countdown")).to_have_text("Starts in 2 h 4 min")
    # A cancelled show is listed apart with its reason: no countdown, no reminder to set
    expect(viewer.locator("#upcoming .show-link")).to_have_text(["Spring preview"])
    called_off = viewer.locator(f'#cancelled [data-public-id="{cancelled.public_id}"]')
    expect(called_off.locator(".cancellation-reason")).to_have_text("The host is ill.")
    expect(called_off.locator(".badge")).to_have_text("cancelled")
    expect(called_off.locator(".countdown, .remind")).to_have_count(0)
    screenshot(viewer, "schedule")
    upcoming.get_by_role("button", name="Remind me of Spring preview").click()
    expect(upcoming.locator(".remind")).to_have_attribute("aria-pressed", "true")
    assert ShowReminder.objects.filter(show=show, user=vera).count() == 1

    # Then the show page counts down and knows the reminder; it can be withdrawn there
    upcoming.get_by_role("link", name="Spring preview").click()
    expect(viewer.locator("#show")).to_have_attribute("data-mode", "scheduled")
    expect(viewer.locator("#countdown")).to_have_text("2 h 4 min")
    screenshot(viewer, "viewer-before-start")
    viewer.get_by_role("button", name="Reminder set").click()
    expect(viewer.get_by_role("button", name="Remind me")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert ShowReminder.objects.filter(show=show, user=vera).count() == 0

    # A cancelled show's page says so and why, and its chat is closed: a note instead of the form
    viewer.goto(f"/shows/{cancelled.public_id}/")
    expect(viewer.locator("#show")).to_have_attribute("data-mode", "cancelled")
    expect(viewer.locator("#cancelled-note")).to_be_visible()
    expect(viewer.locator("#cancellation-reason")).to_have_text("The host is ill.")
    expect(viewer.locator("#before-start")).to_be_hidden()
    expect(viewer.locator("#remind")).to_be_hidden()
    expect(viewer.locator("#chat-closed")).to_be_visible()
    expect(viewer.locator("#chat-closed")).to_have_text("The chat is closed.")
    expect(viewer.locator("#send-form")).to_be_hidden()
    expect(viewer.locator("#sign-in-to-chat")).to_be_hidden()


@pytest.fixture
def media_server(settings):
    """nginx serving a real replay: a test pattern remuxed by recording_process."""
    # Not pytest's tmp_path: nginx's workers run as nobody and must reach the folder.
    media_dir = Path(tempfile.mkdtemp(prefix="liveshop-web-"))
    media_dir.chmod(0o755)
    config = MediaServerConfig(
        media_dir=media_dir,
        hook_url="http://127.0.0.1:9/hooks/rtmp",
        hook_secret=secrets.token_urlsafe(16),
        rtmp_port=port_free_pick(),
        http_port=port_free_pick(),
    )
    settings.LIVESHOP_VIDEO_DIR = media_dir
    settings.LIVESHOP_VIDEO_HTTP_URL = config.http_url
    server = MediaServer(config)
    server.start()
    try:
        yield config
    finally:
        server.stop()
        shutil.rmtree(media_dir, ignore_errors=True)


def _test_pattern(path: Path, seconds: int, *output: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         f"testsrc=size=320x180:rate=10:duration={seconds}", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-g", "10", *output, str(path)],
        check=True, timeout=60,
    )  # fmt: skip


@pytest.mark.media
class TestVideo:
    @pytest.fixture
    def site_environment(self, media_server):
        return {"LIVESHOP_VIDEO_HTTP_URL": media_server.http_url}

    def test_the_player_waits_for_a_live_playlist_that_is_not_there_yet(self, phone, media_server):
        # Given a live stream announced playable whose playlist nginx does not have yet
        show = _live_show(title="Live from the studio")
        IngestSession.objects.create(
            show=show,
            provider="nginx_rtmp",
            client_id="1",
            state=IngestSession.State.LIVE,
            started_at=show.actual_start,
            playable_at=show.actual_start,
        )
        viewer = phone()
        _open(viewer, show)
        expect(viewer.locator("#player-status")).to_have_text("Waiting for the stream…")
        assert viewer.locator("#video").get_attribute("data-loaded") is None

        # When the media server's segments and playlist appear (playlist last, as nginx does)
        building = media_server.media_dir / "building"
        building.mkdir()
        _test_pattern(building / "live.m3u8", 4, "-f", "hls", "-hls_time", "1",
                      "-hls_list_size", "0", "-hls_segment_filename",
                      str(building / f"{show.public_id}-%d.ts"))  # fmt: skip
        hls = media_server.media_dir / "hls"
        hls.mkdir(exist_ok=True)
        for segment in building.glob("*.ts"):
            segment.rename(hls / segment.name)
        (building / "live.m3u8").rename(hls / f"{show.public_id}.m3u8")

        # Then the player retries on its own and plays, muted as autoplay requires
        expect(viewer.locator("#video")).to_have_attribute("data-loaded", "true")
        viewer.wait_for_function("document.getElementById('video').currentTime > 0")
        expect(viewer.locator("#player-status")).to_have_text("")
        screenshot(viewer, "viewer-live-video")

    def test_a_premiere_joins_its_video_where_the_airing_is(self, phone, media_server):
        # Given a recorded show whose processed video has been airing for 3 s
        show = factories.ShowFactory(kind=Show.Kind.RECORDED, title="Premiere")
        source = media_server.media_dir / "premiere.mp4"
        _test_pattern(source, seconds=8)
        recording = factories.RecordingFactory(
            show=show, provider="upload", source=str(source), status=Recording.Status.PENDING
        )
        assert recording_process(recording_id=recording.pk).status == Recording.Status.READY
        Show.objects.filter(pk=show.pk).update(
            status=Show.Status.LIVE, actual_start=timezone.now() - dt.timedelta(seconds=3)
        )

        viewer = phone()
        _open(viewer, show)

        # Then it plays from 3 s in (or later: time went on), not from the beginning
        expect(viewer.locator("#video")).to_have_attribute("data-loaded", "true")
        viewer.wait_for_function("document.getElementById('video').played.length > 0")
        assert viewer.evaluate("document.getElementById('video').played.start(0)") >= 3

    def test_a_product_marker_seeks_the_replay_to_its_pin(self, phone, media_server):
        # Given an ended show whose moderator pinned two products, and its replay
        started = timezone.now() - dt.timedelta(minutes=5)
        show = _live_show(title="Scarves replay", actual_start=started)
        moderator = factories.UserFactory()
        factories.ShowMemberFactory(show=show, user=moderator, role=ShowMember.Role.MODERATOR)
        scarf = factories.VariantFactory(product__title="Wool scarf").product
        beanie = factories.VariantFactory(product__title="Knit beanie").product
        at = lambda seconds: started + dt.timedelta(seconds=seconds)  # noqa: E731
        first = show_product_pin(show=show, product_id=scarf.pk, actor=moderator, now=at(2))
        show_product_unpin(show=show, pin_id=first.pk, actor=moderator, now=at(4))
        second = show_product_pin(show=show, product_id=beanie.pk, actor=moderator, now=at(5))
        show_end(show=show, now=at(8))
        source = media_server.media_dir / "upload.mp4"
        _test_pattern(source, seconds=8)
        recording = factories.RecordingFactory(
            show=show, provider="upload", source=str(source), status=Recording.Status.PENDING
        )
        assert recording_process(recording_id=recording.pk).status == Recording.Status.READY
        viewer = phone()
        _open(viewer, show)
        expect(viewer.locator("#show")).to_have_attribute("data-mode", "replay")
        expect(viewer.locator("#video")).to_have_attribute("data-loaded", "true")
        expect(viewer.locator("#markers button")).to_have_text(
            ["0:02 Wool scarf", "0:05 Knit beanie"]
        )

        # When the viewer jumps to the beanie
        viewer.get_by_role("button", name="Jump to Knit beanie at 0:05").click()

        # Then the video is at the pin's start and the beanie's card shows, alone
        viewer.wait_for_function("document.getElementById('video').currentTime === 5")
        expect(viewer.locator(".product-card")).to_have_count(1)
        expect(viewer.locator(f'.product-card[data-pin-id="{second.pk}"] h3')).to_have_text(
            "Knit beanie"
        )
        screenshot(viewer, "viewer-replay-marker")

        viewer.get_by_role("button", name="Jump to Wool scarf at 0:02").click()
        viewer.wait_for_function("document.getElementById('video').currentTime === 2")
        expect(viewer.locator(".product-card h3")).to_have_text(["Wool scarf"])
        viewer.set_viewport_size({"width": 1280, "height": 800})
        screenshot(viewer, "viewer-replay-desktop")
