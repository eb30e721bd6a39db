from django.urls import path

from chat import apis

urlpatterns = [
    path("realtime/tickets", apis.RealtimeTicketCreateApi.as_view(), name="realtime-ticket-create"),
]
