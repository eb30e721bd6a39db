"""Run a TURN server for calls: Debian's coturn, configured for liveshop.

Browsers behind NATs reach each other through a TURN relay. liveshop hands out short-lived
credentials that coturn checks with a shared secret (its "TURN REST API" convention:
``use-auth-secret``; docs/consultations.md), so coturn needs no user database and a
credential works for one participant of one consultation until it expires. ``make run`` and
the call tests start coturn through ``TurnServer`` as liveshop's own foreground process,
never as the system service. Media goes through coturn, never through Django.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

INSTALL_HINT = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
    "--no-install-recommends coturn"
)
REALM = "liveshop"


class TurnServerError(Exception):
    pass


def turn_tools_missing() -> list[str]:
    """What running coturn needs and this machine lacks (empty: all there)."""
    return [] if shutil.which("turnserver") else ["coturn (turnserver)"]


@dataclasses.dataclass(frozen=True)
class TurnServerConfig:
    run_dir: Path
    secret: str
    port: int
    host: str = "127.0.0.1"
    # The relay ports browsers' media flows through; a firewall opens this range.
    min_port: int = 49160
    max_port: int = 49200
    # Only for a server on this machine (development, tests): relaying to loopback
    # addresses is what lets two browsers on one machine be each other's peers.
    allow_loopback_peers: bool = True

    @property
    def urls(self) -> list[str]:
        """The ICE server URLs browsers use for this server (UDP first, then TCP)."""
        base = f"turn:{self.host}:{self.port}"
        return [f"{base}?transport=udp", f"{base}?transport=tcp"]

    def environment(self) -> dict[str, str]:
        """The settings every liveshop process needs to hand out credentials for it."""
        return {"LIVESHOP_TURN_URLS": ",".join(self.urls), "LIVESHOP_TURN_SECRET": self.secret}


def turn_config_render(*, config: TurnServerConfig) -> str:
    lines = [
        f"listening-ip={config.host}",
        f"relay-ip={config.host}",
        f"listening-port={config.port}",
        f"min-port={config.min_port}",
        f"max-port={config.max_port}",
        "use-auth-secret",
        f"static-auth-secret={config.secret}",
        f"realm={REALM}",
        "fingerprint",
        # Browsers reach this server over plain UDP and TCP; production adds TLS on 5349
        # (docs/consultations.md).
        "no-tls",
        "no-dtls",
        "no-cli",
        "no-software-attribute",
        "no-multicast-peers",
        f"log-file={config.run_dir / 'turnserver.log'}",
        "simple-log",
        f"pidfile={config.run_dir / 'turnserver.pid'}",
    ]
    if config.allow_loopback_peers:
        lines.append("allow-loopback-peers")
    return "\n".join(lines) + "\n"


class TurnServer:
    """One coturn process for liveshop: ``start()``, then ``stop()``."""

    def __init__(self, config: TurnServerConfig) -> None:
        self.config = config
        self.process: subprocess.Popen | None = None

    @property
    def conf_path(self) -> Path:
        return self.config.run_dir / "turnserver.conf"

    def start(self, timeout: float = 10) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(turn_config_render(config=self.config))
        self.conf_path.chmod(0o600)  # it holds the shared secret
        self.process = subprocess.Popen(
            ["turnserver", "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = self.config.run_dir / "turnserver.log"
                tail = log.read_text()[-500:] if log.exists() else ""
                raise TurnServerError(f"turnserver exited with {self.process.returncode}: {tail}")
            try:
                # coturn listens on TCP and UDP on the same port; TCP tells that it is up.
                with socket.create_connection((self.config.host, self.config.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TurnServerError(
                        f"turnserver did not listen on {self.config.port}"
                    ) from None
                time.sleep(0.1)

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
