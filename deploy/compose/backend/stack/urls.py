from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from items.views import ItemViewSet

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("items", ItemViewSet, basename="item")

urlpatterns = [
    re_path(r"^api/health/?$", views.health),
    re_path(r"^api/health/live/?$", views.live),
    path("api/", include(router.urls)),
]

handler404 = "stack.views.not_found"
handler500 = "stack.views.server_error"
