"""Server-side sessions: who a session cookie stands for, until the shop ends it."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db, utcnow


class WebSession(db.Model):
    """A browser's session. The cookie carries a random token; this row, keyed by the token's
    digest, carries the identity. Ending or replacing the row is what makes a copied cookie
    worthless: a signed cookie alone stays valid for as long as the secret key does.
    """

    __tablename__ = "web_sessions"

    # SHA-256 of the cookie's token, so a copy of the database opens no session.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # A guest merged into a WeChat reader takes its sessions with it (they stop working).
    reader_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("readers.id", ondelete="CASCADE"), index=True
    )
    creator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
