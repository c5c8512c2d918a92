"""Why a price cannot be had as asked. `code` is for the API and logs, `message` for people."""


class PriceRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CouponRefused(PriceRefused):
    """A coupon that does not apply here, now, for this reader; the price stands without it."""


class PromotionInvalid(ValueError):
    """An offer or coupon the creator entered cannot be saved; the message says why."""
