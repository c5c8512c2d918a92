"""Readers bringing readers: share links, share cards inside WeChat, posters with QR codes, and
the attribution of each order to what brought its reader.

- app/readers/sharer_codes.py: a reader's sharer code, in every link they share;
- app/payments/attribution.py (beside the orders that record it): the last touch that brought
  a reader, and what an order records of it;
- touch.py: the hook that notes a touch when a page is opened from a tagged link;
- views.py: the share page, its poster, and wx.config for share cards; the poster is drawn
  by app/catalog/posters.py, its QR code chosen by app/wechat/poster_qr.py.

No reward is paid for sharing itself: WeChat's rules forbid inducing shares.
"""

from flask import Blueprint

bp = Blueprint("sharing", __name__)

from app.sharing import views  # noqa: E402, F401
