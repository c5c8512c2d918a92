"""Typed SQLAlchemy models, one module per aggregate. Importing this registers them all."""

from app.models.catalog import Product, ProductFile, ProductKind, ProductStatus, Section, Tag
from app.models.orders import (
    HOLDS_MONEY,
    WAS_PAID,
    Order,
    OrderKind,
    OrderSource,
    OrderStatus,
    PayChannel,
    PaymentEvent,
    PaymentEventKind,
    Refund,
    RefundStatus,
    Tip,
)
from app.models.readers import Entitlement, EntitlementSource, Reader, ReadingProgress
from app.models.recs import ItemRecs, ReaderRecs, RecSlotDaily, RecsModel
from app.models.rollups import (
    BuyerDay,
    BuyerFirst,
    CohortMonthly,
    ItemSalesDaily,
    PageViewsDaily,
    PurchasesHourly,
    RollupState,
    SalesDaily,
    SourceSalesDaily,
)
from app.models.sessions import WebSession
from app.models.shop import Creator, LoginFailure, ShopProfile
from app.models.wechat import WeChatApiToken, WeChatMessageSeen, WeChatQrCode

__all__ = [
    "HOLDS_MONEY",
    "WAS_PAID",
    "BuyerDay",
    "BuyerFirst",
    "CohortMonthly",
    "Creator",
    "Entitlement",
    "EntitlementSource",
    "ItemRecs",
    "ItemSalesDaily",
    "LoginFailure",
    "Order",
    "OrderKind",
    "OrderSource",
    "OrderStatus",
    "PageViewsDaily",
    "PayChannel",
    "PaymentEvent",
    "PaymentEventKind",
    "Product",
    "ProductFile",
    "ProductKind",
    "ProductStatus",
    "PurchasesHourly",
    "Reader",
    "ReaderRecs",
    "ReadingProgress",
    "RecSlotDaily",
    "RecsModel",
    "Refund",
    "RefundStatus",
    "RollupState",
    "SalesDaily",
    "Section",
    "ShopProfile",
    "SourceSalesDaily",
    "Tag",
    "Tip",
    "WeChatApiToken",
    "WeChatMessageSeen",
    "WeChatQrCode",
    "WebSession",
]
