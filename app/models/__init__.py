"""Typed SQLAlchemy models, one module per aggregate. Importing this registers them all."""

from app.models.catalog import Product, ProductFile, ProductKind, ProductStatus, Section, Tag
from app.models.orders import (
    Order,
    OrderKind,
    OrderStatus,
    PayChannel,
    PaymentEvent,
    Refund,
    RefundStatus,
    Tip,
)
from app.models.readers import Entitlement, EntitlementSource, Reader, ReadingProgress
from app.models.shop import Creator, ShopProfile

__all__ = [
    "Creator",
    "Entitlement",
    "EntitlementSource",
    "Order",
    "OrderKind",
    "OrderStatus",
    "PayChannel",
    "PaymentEvent",
    "Product",
    "ProductFile",
    "ProductKind",
    "ProductStatus",
    "Reader",
    "ReadingProgress",
    "Refund",
    "RefundStatus",
    "Section",
    "ShopProfile",
    "Tag",
    "Tip",
]
