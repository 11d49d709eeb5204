"""The real URLconf plus one API view that fails, to test the error path end to end."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from skillquest.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def boom(request):
    raise RuntimeError("unexpected")


urlpatterns = [path("api/v1/boom", boom), *real_urlpatterns]
handler500 = "skillquest.views.server_error"
