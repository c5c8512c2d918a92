"""Talking to WeChat (or to the built-in sandbox, which speaks the same protocols)."""
