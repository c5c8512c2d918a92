"""HTTP sessions for wechatpy: time-outs for WeChat, and an in-process route to the sandbox.

The shop calls WeChat from inside a request. If the sandbox were reached over HTTP on the
same server, that call would need a second free worker, and under load every sync worker
would wait on another. So the sandbox's server-to-server endpoints are reached in-process:
the adapter hands the exact request bytes to the app's WSGI callable and wraps the answer
as a requests.Response. wechatpy cannot tell the difference.

Inside a reader's request the call carries that request's host, so the sandbox builds the
URLs it hands out (a QR's code_url, an avatar) on the address the reader's browser uses.
"""

import contextvars
from urllib.parse import urlsplit

import requests
from flask import has_request_context
from flask import request as current_request
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

# URLs under this origin never touch the network; see InProcessAdapter.
IN_PROCESS_ORIGIN = "http://wechat-sandbox.internal"


class TimeoutAdapter(HTTPAdapter):
    """wechatpy's OAuth client sets no time-out; a hung WeChat must not hang a worker."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class InProcessAdapter(BaseAdapter):
    def __init__(self, wsgi_app):
        super().__init__()
        self.wsgi_app = wsgi_app

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        origin = f"{url.scheme}://{url.netloc}"
        if has_request_context():
            origin = current_request.host_url.rstrip("/")
        # Nothing crosses a wire, so nothing is worth compressing; and requests' own decoding
        # of Content-Encoding lives in urllib3, which this adapter bypasses.
        headers = {**request.headers, "Accept-Encoding": "identity"}
        environ = EnvironBuilder(
            path=url.path,
            query_string=url.query,
            method=request.method,
            headers=headers,
            data=body,
            base_url=origin,
        ).get_environ()
        # A fresh context: Flask would otherwise reuse the caller's app context, and with it
        # the caller's database session, so the sandbox's commit would end the shop's work.
        app_iter, status, headers = contextvars.Context().run(
            run_wsgi_app, self.wsgi_app, environ, buffered=True
        )
        try:
            content = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()

        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def http_session(app) -> requests.Session:
    """A requests session for wechatpy: in-process to the sandbox, time-outs for the rest."""
    session = requests.Session()
    timeout_adapter = TimeoutAdapter(app.config["WECHAT_HTTP_TIMEOUT"])
    session.mount("https://", timeout_adapter)
    session.mount("http://", timeout_adapter)
    if app.config["WECHAT_SANDBOX"]:
        session.mount(IN_PROCESS_ORIGIN, InProcessAdapter(app))
    return session
