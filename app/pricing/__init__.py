"""The one price rule and what feeds it: limited-time offers and coupons.

No views and no `flask.request`: checkout, the API, the studio and the CLI all ask here.
"""
