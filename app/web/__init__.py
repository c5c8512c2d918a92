"""The web edge: security headers, body limits, the public address, URL converters and the
page cache."""
