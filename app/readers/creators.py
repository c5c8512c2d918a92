"""The creator's account: created from the command line, used to log in to the studio."""

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Creator
from app.models.base import utcnow

PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 200  # the login form takes no longer password

# Checked against when the username is unknown, so a wrong name costs as long as a wrong
# password and timing does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class CreatorError(ValueError):
    pass


def password_problem(password: str) -> str | None:
    """What is wrong with a new password (one rule for creating, resetting and changing)."""
    if len(password) < PASSWORD_MIN_CHARS:
        return f"密码至少 {PASSWORD_MIN_CHARS} 位"
    if len(password) > PASSWORD_MAX_CHARS:
        return f"密码最多 {PASSWORD_MAX_CHARS} 位"
    return None


def create_creator(username: str, password: str) -> Creator:
    username = username.strip()
    if not username:
        raise CreatorError("用户名不能为空")
    if problem := password_problem(password):
        raise CreatorError(problem)
    if db.session.scalar(sa.select(Creator).where(Creator.username == username)):
        raise CreatorError(f"用户名 {username} 已存在")
    creator = Creator(username=username, password_hash=generate_password_hash(password))
    db.session.add(creator)
    db.session.flush()
    return creator


def reset_password(username: str, password: str) -> Creator:
    """Set a new password from the command line, for a creator who cannot log in.

    Every login session ends with it (see Creator.get_id).
    """
    creator = db.session.scalar(sa.select(Creator).where(Creator.username == username.strip()))
    if creator is None:
        raise CreatorError(f"没有用户名为 {username} 的创作者")
    if problem := password_problem(password):
        raise CreatorError(problem)
    creator.password_hash = generate_password_hash(password)
    return creator


def authenticate(username: str, password: str) -> Creator | None:
    creator = db.session.scalar(sa.select(Creator).where(Creator.username == username.strip()))
    if creator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(creator.password_hash, password):
        return None
    creator.last_login_at = utcnow()
    return creator


class PasswordRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def change_password(creator: Creator, current: str, new: str) -> None:
    """Replace the password after checking the current one (the studio's settings page)."""
    if not check_password_hash(creator.password_hash, current or ""):
        raise PasswordRefused("current", "当前密码不正确")
    if problem := password_problem(new):
        raise PasswordRefused("new", "新" + problem)
    if new == current:
        raise PasswordRefused("new", "新密码不能与当前密码相同")
    creator.password_hash = generate_password_hash(new)
