from django.urls import path

from chat import apis

# Importing shows.urls registers the ``public_id`` and ``row_id`` converters used below.
from shows import urls as shows_urls  # noqa: F401

SHOW = "shows/<public_id:public_id>"
MESSAGE = f"{SHOW}/messages/<row_id:message_id>"
QUESTION = f"{SHOW}/questions/<row_id:question_id>"

urlpatterns = [
    path("realtime/tickets", apis.RealtimeTicketCreateApi.as_view(), name="realtime-ticket-create"),
    path(f"{MESSAGE}/hide", apis.MessageHideApi.as_view(), name="chat-message-hide"),
    path(f"{MESSAGE}/delete", apis.MessageDeleteApi.as_view(), name="chat-message-delete"),
    path(f"{MESSAGE}/approve", apis.MessageApproveApi.as_view(), name="chat-message-approve"),
    path(f"{MESSAGE}/deny", apis.MessageDenyApi.as_view(), name="chat-message-deny"),
    path(f"{MESSAGE}/pin", apis.MessagePinApi.as_view(), name="chat-message-pin"),
    path(f"{SHOW}/pinned-message", apis.MessageUnpinApi.as_view(), name="chat-message-unpin"),
    path(f"{SHOW}/held", apis.MessageHeldListApi.as_view(), name="chat-message-held-list"),
    path(f"{SHOW}/sanctions", apis.SanctionsApi.as_view(), name="chat-sanctions"),
    path(
        f"{SHOW}/sanctions/<row_id:sanction_id>",
        apis.SanctionRevokeApi.as_view(),
        name="chat-sanction-revoke",
    ),
    path(f"{SHOW}/chat-settings", apis.ChatSettingsUpdateApi.as_view(), name="chat-settings"),
    path(
        f"{SHOW}/moderation-log",
        apis.ModerationActionListApi.as_view(),
        name="chat-moderation-log",
    ),
    path(f"{SHOW}/questions", apis.QuestionQueueListApi.as_view(), name="chat-question-list"),
    path(f"{QUESTION}/claim", apis.QuestionClaimApi.as_view(), name="chat-question-claim"),
    path(f"{QUESTION}/answer", apis.QuestionAnswerApi.as_view(), name="chat-question-answer"),
    path(f"{QUESTION}/resolve", apis.QuestionResolveApi.as_view(), name="chat-question-resolve"),
    path(
        "channels/<slug:slug>/blocked-terms",
        apis.BlockedTermsApi.as_view(),
        name="chat-blocked-terms",
    ),
    path(
        "channels/<slug:slug>/blocked-terms/<row_id:term_id>",
        apis.BlockedTermRemoveApi.as_view(),
        name="chat-blocked-term-remove",
    ),
]
