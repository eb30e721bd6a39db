"""The show's room and log move from chat to shows, the chat's settings out of the room row:
a database with rows written before the move keeps every row, forward and back.

Runs the real migrations on a database of its own (the suite's has none: ``--no-migrations``),
on SQLite always and on PostgreSQL when there is one.
"""

import datetime as dt
import uuid

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import ConnectionHandler

BEFORE = {
    "chat": "0002_moderationaction_hold_links",
    "shows": "0003_notification_hook_posts",
}
EVENT_COLUMNS = "id, show_id, seq, type, data, audience, audience_user_id, message_id, created_at"


@pytest.fixture
def database(request, settings, tmp_path, db):
    """The default connection, for the test, to an empty database of the engine it names.

    The default one, not one more alias: data migrations of other apps read and write
    through the default connection."""
    # The suite runs without migrations; the loader must find the real ones here.
    settings.MIGRATION_MODULES = {}
    engine = request.param
    if engine == "postgresql":
        default = connections["default"]
        assert default.settings_dict["NAME"].startswith("test_")  # never the real one
        name = f"{default.settings_dict['NAME']}_show_room"
        with default._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        configured = {**default.settings_dict, "NAME": name}
    else:
        configured = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "show_room.sqlite3"),
        }
    # A handler of its own fills in the settings Django defaults.
    wrapper = ConnectionHandler({"default": configured})["default"]
    suite = connections["default"]
    connections["default"] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        connections["default"] = suite
        if engine == "postgresql":
            with suite._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE "{name}"')


def _migrate(wrapper, apps_at: dict[str, str] | None = None):
    """Migrate every app to its last migration, ``apps_at`` to the ones it names;
    returns the project state there."""
    executor = MigrationExecutor(wrapper)
    targets = [
        (app, (apps_at or {}).get(app, name)) for app, name in executor.loader.graph.leaf_nodes()
    ]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets)


def _rows(wrapper, sql: str) -> list[tuple]:
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def _constraints(wrapper, table: str, column: str) -> list[dict]:
    with wrapper.cursor() as cursor:
        found = wrapper.introspection.get_constraints(cursor, table)
    return [details for details in found.values() if details["columns"] == [column]]


def _message_foreign_key(wrapper) -> bool:
    return any(
        item["foreign_key"] for item in _constraints(wrapper, "chat_showevent", "message_id")
    )


def _chat_at_0002(state):
    """Two shows with rooms, chat settings, a pinned message and its events, as chat 0002
    stored them."""
    apps = state.apps
    User = apps.get_model("accounts", "User")
    Channel = apps.get_model("shows", "Channel")
    Show = apps.get_model("shows", "Show")
    ShowRoom = apps.get_model("chat", "ShowRoom")
    ShowEvent = apps.get_model("chat", "ShowEvent")
    ChatMessage = apps.get_model("chat", "ChatMessage")
    start = dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC)
    user = User.objects.create(username="viewer", password="!")
    channel = Channel.objects.create(name="Boots", slug="boots")
    shows = [
        Show.objects.create(
            channel=channel,
            public_id=f"show{number}",
            title=f"Show {number}",
            slug=f"show-{number}",
            scheduled_start=start + dt.timedelta(hours=number),
            scheduled_end=start + dt.timedelta(hours=number, minutes=30),
        )
        for number in (1, 2)
    ]
    pinned = ChatMessage.objects.create(show=shows[0], author=user, text="hi", seq=1)
    ShowRoom.objects.create(
        show=shows[0],
        last_seq=3,
        epoch=uuid.UUID(int=1),
        slow_mode_seconds=30,
        hold_links=False,
        pinned_message=pinned,
        peak_viewers=12,
        reaction_count=40,
    )
    ShowRoom.objects.create(show=shows[1], epoch=uuid.UUID(int=2))
    for seq, type_, message, audience, audience_user in (
        (1, "message.created", pinned, "public", None),
        (2, "message.pinned", pinned, "public", None),
        (3, "user.sanctioned", None, "user", user),
    ):
        ShowEvent.objects.create(
            show=shows[0],
            seq=seq,
            type=type_,
            data={"seq": seq},
            audience=audience,
            audience_user=audience_user,
            message=message,
        )
    return pinned, shows


@pytest.mark.parametrize(
    "database",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_rows_survive_the_move_to_shows_and_back(database):
    pinned, (first, second) = _chat_at_0002(_migrate(database, BEFORE))
    events = _rows(database, f"SELECT {EVENT_COLUMNS} FROM chat_showevent ORDER BY id")
    rooms = _rows(
        database,
        "SELECT show_id, last_seq, epoch, peak_viewers, reaction_count FROM chat_showroom"
        " ORDER BY show_id",
    )
    settings_before = _rows(
        database,
        "SELECT show_id, slow_mode_seconds, hold_links, pinned_message_id FROM chat_showroom"
        " ORDER BY show_id",
    )
    assert settings_before == [(first.pk, 30, False, pinned.pk), (second.pk, 0, True, None)]
    assert any(
        item["foreign_key"] for item in _constraints(database, "chat_showevent", "message_id")
    )

    head = _migrate(database)

    assert _rows(database, f"SELECT {EVENT_COLUMNS} FROM chat_showevent ORDER BY id") == events
    assert (
        _rows(
            database,
            "SELECT show_id, last_seq, epoch, peak_viewers, reaction_count FROM chat_showroom"
            " ORDER BY show_id",
        )
        == rooms
    )
    assert (
        _rows(
            database,
            "SELECT show_id, slow_mode_seconds, hold_links, pinned_message_id"
            " FROM chat_chatsettings ORDER BY show_id",
        )
        == settings_before
    )
    with database.cursor() as cursor:
        room_columns = {
            column.name
            for column in database.introspection.get_table_description(cursor, "chat_showroom")
        }
    assert room_columns == {"show_id", "last_seq", "epoch", "peak_viewers", "reaction_count"}
    # The subject is a plain id now: its index stays, its constraint is gone.
    subject = _constraints(database, "chat_showevent", "message_id")
    assert [item["foreign_key"] for item in subject] == [None]
    assert [item["index"] for item in subject] == [True]
    # The models of the head read them: the show's log and room are shows'.
    ShowEvent = head.apps.get_model("shows", "ShowEvent")
    ShowRoom = head.apps.get_model("shows", "ShowRoom")
    assert list(ShowEvent.objects.filter(subject_id=pinned.pk).values_list("seq", flat=True)) == [
        1,
        2,
    ]
    assert ShowRoom.objects.get(show_id=pinned.show_id).last_seq == 3

    _migrate(database, BEFORE)

    assert _rows(database, f"SELECT {EVENT_COLUMNS} FROM chat_showevent ORDER BY id") == events
    assert (
        _rows(
            database,
            "SELECT show_id, slow_mode_seconds, hold_links, pinned_message_id FROM chat_showroom"
            " ORDER BY show_id",
        )
        == settings_before
    )
    assert "chat_chatsettings" not in database.introspection.table_names()
    assert any(
        item["foreign_key"] for item in _constraints(database, "chat_showevent", "message_id")
    )
