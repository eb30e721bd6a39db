from django.urls import path

from consultations import apis
from shows import urls as _shows_urls  # noqa: F401  (registers the public_id and row_id converters)

urlpatterns = [
    path(
        "shows/<public_id:public_id>/questions/<row_id:question_id>/invite",
        apis.QuestionInviteApi.as_view(),
        name="question-invite",
    ),
    path("desks/<slug:slug>", apis.DeskDetailApi.as_view(), name="desk-detail"),
    path("desks/<slug:slug>/queue", apis.DeskQueueApi.as_view(), name="desk-queue"),
    path("desks/<slug:slug>/take", apis.DeskTakeApi.as_view(), name="desk-take"),
    path("desks/<slug:slug>/callbacks", apis.DeskCallbacksApi.as_view(), name="desk-callbacks"),
    path(
        "callbacks/<row_id:callback_id>/done", apis.CallbackDoneApi.as_view(), name="callback-done"
    ),
    path(
        "callbacks/<row_id:callback_id>/cancel",
        apis.CallbackCancelApi.as_view(),
        name="callback-cancel",
    ),
    path(
        "desks/<slug:slug>/consultations",
        apis.ConsultationRequestApi.as_view(),
        name="consultation-request",
    ),
    path(
        "consultations/<uuid:public_id>",
        apis.ConsultationDetailApi.as_view(),
        name="consultation-detail",
    ),
    path(
        "consultations/<uuid:public_id>/leave",
        apis.ConsultationLeaveApi.as_view(),
        name="consultation-leave",
    ),
    path(
        "consultations/<uuid:public_id>/end",
        apis.ConsultationEndApi.as_view(),
        name="consultation-end",
    ),
]
