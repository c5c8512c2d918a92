"""Payments: no views here. The gateway talks to WeChat Pay; orders.py is the state machine.

gateway.py       the interface views and services use, and its value types
wechatpay_v2.py  the WeChat Pay API v2 implementation, through wechatpy
orders.py        the one place an order changes state
checkout.py      starting a payment: order, prepay, channel parameters
notifications.py what WeChat's notifications do to orders and refunds
refunds.py       full and partial refunds
reconcile.py     active queries, expiry, and the daily bill
"""
