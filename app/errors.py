"""One family of error answers: shop-styled pages, or JSON under /api/."""

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db

MESSAGES = {
    400: "请求有误",
    403: "没有权限查看这里",
    404: "页面不存在，可能已下架或地址有误",
    405: "不支持这种请求方式",
    429: "操作太频繁了，请稍后再试",
    500: "服务器开小差了，请稍后再试",
}


def register(app: Flask) -> None:
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
        return jsonify(error={"code": code, "message": detail or message}), code
    return render_template("errors/error.html", code=code, message=message, detail=detail), code


def _is_default(code: int, description: str) -> bool:
    from werkzeug.exceptions import default_exceptions

    exception = default_exceptions.get(code, InternalServerError)
    return description == exception.description
