"""The creator's account: created from the command line, used to log in to the studio."""

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Creator
from app.models.base import utcnow

MIN_PASSWORD_LENGTH = 8

# Checked against when the username is unknown, so a wrong name costs as long as a wrong
# password and timing does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class CreatorError(ValueError):
    pass


def create_creator(username: str, password: str) -> Creator:
    username = username.strip()
    if not username:
        raise CreatorError("用户名不能为空")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CreatorError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if db.session.scalar(sa.select(Creator).where(Creator.username == username)):
        raise CreatorError(f"用户名 {username} 已存在")
    creator = Creator(username=username, password_hash=generate_password_hash(password))
    db.session.add(creator)
    db.session.flush()
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
