"""One family of error answers: shop-styled pages, or JSON under /api/."""

from flask import Flask, current_app, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from app.extensions import db

CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
}

MESSAGES = {
    400: "请求有误",
    403: "没有权限查看这里",
    404: "页面不存在，可能已下架或地址有误",
    405: "不支持这种请求方式",
    413: "提交的内容太大了",
    415: "不支持这种内容格式",
    429: "操作太频繁了，请稍后再试",
    500: "服务器开小差了，请稍后再试",
}


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return _answer(400, "页面已过期，请刷新页面后重试")

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limit(error: RateLimitExceeded):
        return _answer(429, None)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        return _answer(error.code or 500, error.description)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # Nothing half-written survives a crash: the request's transaction is rolled back.
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _answer(500, None)


def _answer(code: int, description: str | None):
    message = MESSAGES.get(code, "出错了")
    # Werkzeug's default English descriptions are not for our readers; ours are Chinese.
    detail = description if description and not _is_default(code, description) else None
    if request.path.startswith("/api/"):
        error = {"code": CODES.get(code, "error"), "message": detail or message}
        return jsonify(error=error), code
    try:
        page = render_template("errors/error.html", code=code, message=message, detail=detail)
    except Exception:
        # The layout reads the shop profile; when the database is what failed, still answer.
        current_app.logger.exception("error page could not be rendered")
        page = FALLBACK_PAGE.format(code=code, message=message)
    return page, code


FALLBACK_PAGE = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<title>{message}</title><body style="font-family:sans-serif;text-align:center;padding:48px">'
    '<h1>{code}</h1><p>{message}</p><p><a href="/">回到首页</a></p></body></html>'
)


def _is_default(code: int, description: str) -> bool:
    exception = default_exceptions.get(code, InternalServerError)
    return description == exception.description
