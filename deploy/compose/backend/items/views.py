from rest_framework import viewsets

from .models import Item
from .serializers import ItemSerializer


class ItemViewSet(viewsets.ModelViewSet):
    """/api/items/ (list, create) and /api/items/<id>/ (retrieve, update,
    partial_update, destroy)."""

    queryset = Item.objects.order_by("id")
    serializer_class = ItemSerializer
