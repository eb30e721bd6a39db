"""TURN for calls: credentials liveshop mints are the ones coturn accepts, and only those."""

import datetime as dt
import subprocess
import time

import pytest

from consultations.selectors.calls import ice_servers_for, turn_credentials
from consultations.turnserver import TurnServer, TurnServerConfig, turn_config_render
from video.mediaserver import port_free_pick


def test_credentials_follow_coturns_shared_secret_convention():
    # The username is "<expiry>:<name>", the password base64(HMAC-SHA1(secret, username));
    # the coturn test below proves that coturn computes the same.
    username, credential = turn_credentials(secret="north", name="alice", expires=1700000000)

    assert username == "1700000000:alice"
    assert credential == "Cd/49soE35ICqcJF/bCTn8Z4OyE="


def test_no_turn_server_configured_means_no_ice_servers(settings):
    settings.LIVESHOP_TURN_URLS = []
    settings.LIVESHOP_TURN_SECRET = "north"
    assert ice_servers_for(name="c1:7", now=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)) == []


def test_ice_servers_carry_credentials_that_expire_after_the_ttl(settings):
    settings.LIVESHOP_TURN_URLS = ["turn:turn.example:3478?transport=udp"]
    settings.LIVESHOP_TURN_SECRET = "north"
    settings.LIVESHOP_TURN_TTL_SECONDS = 600
    now = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)

    [server] = ice_servers_for(name="c1:7", now=now)

    expires = int(now.timestamp()) + 600
    assert server == {
        "urls": ["turn:turn.example:3478?transport=udp"],
        "username": f"{expires}:c1:7",
        "credential": turn_credentials(secret="north", name="c1:7", expires=expires)[1],
    }


def test_the_config_names_the_secret_the_ports_and_no_tls(tmp_path):
    config = TurnServerConfig(run_dir=tmp_path, secret="north", port=3479)

    text = turn_config_render(config=config)

    lines = text.splitlines()
    assert "use-auth-secret" in lines
    assert "static-auth-secret=north" in lines
    assert "listening-port=3479" in lines
    assert ("min-port=49160", "max-port=49200") == (lines[3], lines[4])
    assert "allow-loopback-peers" in lines
    assert config.urls == [
        "turn:127.0.0.1:3479?transport=udp",
        "turn:127.0.0.1:3479?transport=tcp",
    ]


def _allocate(port: int, username: str, credential: str) -> subprocess.CompletedProcess:
    # coturn's own test client: allocates a relay with these credentials and sends
    # through it to itself (-y), over UDP.
    return subprocess.run(
        ["turnutils_uclient", "-u", username, "-w", credential, "-p", str(port),
         "-n", "3", "-m", "1", "-y", "-c", "127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def turn_server(tmp_path):
    server = TurnServer(
        TurnServerConfig(run_dir=tmp_path / "turn", secret="test-secret", port=port_free_pick())
    )
    server.start()
    yield server
    server.stop()


@pytest.mark.turn
def test_coturn_relays_for_minted_credentials_and_refuses_others(turn_server):
    port = turn_server.config.port
    expires = int(time.time()) + 600
    username, credential = turn_credentials(secret="test-secret", name="c1:7", expires=expires)
    _other, forged = turn_credentials(secret="another-secret", name="c1:7", expires=expires)
    stale_name, stale = turn_credentials(
        secret="test-secret", name="c1:7", expires=int(time.time()) - 60
    )

    relayed = _allocate(port, username, credential)
    wrong = _allocate(port, username, forged)
    expired = _allocate(port, stale_name, stale)

    assert relayed.returncode == 0, relayed.stdout[-1000:]
    assert "Total lost packets 0" in relayed.stdout
    assert "tot_send_msgs=6, tot_recv_msgs=6" in relayed.stdout
    for refused in (wrong, expired):
        assert refused.returncode != 0
        assert "Cannot complete Allocation" in refused.stdout + refused.stderr
