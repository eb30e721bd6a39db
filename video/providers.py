"""The ``VideoProvider`` interface and the reference provider, nginx with libnginx-mod-rtmp.

Services speak to the media server only through a provider, so a hosted provider
(Mux, AWS IVS) can take nginx-rtmp's place without touching show logic.
"""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

import httpx
from django.conf import settings

logger = logging.getLogger("liveshop.video")

# nginx-rtmp's application name in the generated config (video/templates/video/).
RTMP_APPLICATION = "live"


class VideoProvider:
    """What liveshop needs from a media server."""

    name = ""

    def ingest_url(self) -> str:
        """The server URL a broadcaster enters (OBS: "Server")."""
        raise NotImplementedError

    def stream_key_format(self, *, public_id: str, secret: str) -> str:
        """The stream key a broadcaster enters (OBS: "Stream key")."""
        raise NotImplementedError

    def hls_url(self, *, public_id: str) -> str:
        """The live HLS playlist viewers load."""
        raise NotImplementedError

    def playlist_ready(self, *, public_id: str) -> bool:
        """Whether the live playlist exists and lists at least one segment."""
        raise NotImplementedError

    def publisher_drop(self, *, public_id: str) -> int:
        """Disconnect whoever publishes ``public_id``; returns how many were dropped."""
        raise NotImplementedError


class NginxRtmpProvider(VideoProvider):
    """nginx + libnginx-mod-rtmp: RTMP in, HLS out, FLV recordings (docs/video.md)."""

    name = "nginx_rtmp"

    def ingest_url(self) -> str:
        return settings.LIVESHOP_VIDEO_RTMP_URL

    def stream_key_format(self, *, public_id: str, secret: str) -> str:
        # The stream name is public (it names the HLS files); the secret rides along
        # as an RTMP query argument, which nginx-rtmp passes to on_publish.
        return f"{public_id}?key={secret}"

    def hls_url(self, *, public_id: str) -> str:
        return f"{settings.LIVESHOP_VIDEO_HTTP_URL}/hls/{public_id}.m3u8"

    def playlist_path(self, *, public_id: str) -> Path:
        return Path(settings.LIVESHOP_VIDEO_DIR) / "hls" / f"{public_id}.m3u8"

    def playlist_ready(self, *, public_id: str) -> bool:
        try:
            text = self.playlist_path(public_id=public_id).read_text()
        except OSError:
            return False
        return "#EXTINF" in text

    def publisher_drop(self, *, public_id: str) -> int:
        query = urllib.parse.urlencode({"app": RTMP_APPLICATION, "name": public_id})
        url = f"{settings.LIVESHOP_VIDEO_HTTP_URL}/control/drop/publisher?{query}"
        try:
            response = httpx.get(url, timeout=5)
            response.raise_for_status()
            return int(response.text.strip() or 0)
        except (httpx.HTTPError, ValueError) as error:
            # The show has already changed; a media server that is down has no
            # publisher to drop, so this is logged rather than retried.
            logger.warning("Could not drop the publisher of %s: %s", public_id, error)
            return 0


PROVIDERS: dict[str, type[VideoProvider]] = {NginxRtmpProvider.name: NginxRtmpProvider}


def video_provider_get(name: str | None = None) -> VideoProvider:
    """The configured provider (``LIVESHOP_VIDEO_PROVIDER``), or the one called ``name``."""
    return PROVIDERS[name or settings.LIVESHOP_VIDEO_PROVIDER]()
