from django.urls import path

from shows.urls import PublicIdConverter  # noqa: F401 (registers the public_id converter)
from video import apis, hooks

hook_urlpatterns = [
    path("rtmp/<slug:event>", hooks.rtmp_hook, name="video-rtmp-hook"),
    path("mux", hooks.hosted_hook, {"provider": "mux"}, name="video-mux-hook"),
    path("ivs", hooks.hosted_hook, {"provider": "ivs"}, name="video-ivs-hook"),
]

urlpatterns = [
    path(
        "channels/<slug:slug>/now-playing",
        apis.ChannelNowPlayingApi.as_view(),
        name="channel-now-playing",
    ),
    path(
        "channels/<slug:slug>/programme",
        apis.ChannelProgrammeApi.as_view(),
        name="channel-programme",
    ),
    path(
        "channels/<slug:slug>/rotation",
        apis.ChannelRotationApi.as_view(),
        name="channel-rotation",
    ),
    path("shows/<public_id:public_id>/video", apis.ShowVideoApi.as_view(), name="show-video"),
    path(
        "shows/<public_id:public_id>/video/ingest",
        apis.ShowIngestApi.as_view(),
        name="show-video-ingest",
    ),
    path(
        "shows/<public_id:public_id>/video/ingest/rotate",
        apis.ShowIngestRotateApi.as_view(),
        name="show-video-ingest-rotate",
    ),
    path(
        "shows/<public_id:public_id>/video/take-live",
        apis.ShowVideoTakeLiveApi.as_view(),
        name="show-video-take-live",
    ),
    path(
        "shows/<public_id:public_id>/video/premiere",
        apis.ShowPremiereApi.as_view(),
        name="show-video-premiere",
    ),
    path(
        "shows/<public_id:public_id>/video/end",
        apis.ShowVideoEndApi.as_view(),
        name="show-video-end",
    ),
]
