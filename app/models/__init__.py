"""Typed SQLAlchemy models, one module per aggregate. Importing this registers them all."""

from app.models.catalog import Product, ProductFile, ProductKind, ProductStatus, Section, Tag
from app.models.readers import Entitlement, EntitlementSource, Reader, ReadingProgress
from app.models.shop import Creator, ShopProfile

__all__ = [
    "Creator",
    "Entitlement",
    "EntitlementSource",
    "Product",
    "ProductFile",
    "ProductKind",
    "ProductStatus",
    "Reader",
    "ReadingProgress",
    "Section",
    "ShopProfile",
    "Tag",
]
