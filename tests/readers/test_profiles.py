"""Readers name themselves: the name and avatar they choose on 我的, shown wherever the shop
names them at once, and never overwritten by what WeChat sends (nor by its placeholder).

Readers sign in through the sandbox with wechatpy's real OAuth client; nothing is mocked.
"""

import io
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.models import Reader
from app.readers import profiles
from app.readers.profiles import ProfileRejected, clean_name
from app.sandbox.models import SandboxUser
from app.sandbox.notify import deliver_due_notifications
from tests.conftest import WECHAT_UA, WeChatSignIn, session_reader_id
from tests.payflow import csrf_token_in, jsapi_parameters, send_tip_form


@pytest.fixture
def app(app_factory):
    """A shop that keeps its page cache and sees a catalog change at once."""
    return app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)


# --- the name's rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("明明", "明明"),
        ("  小 明  ", "小 明"),
        ("Ada   Lovelace", "Ada Lovelace"),
        ("<b>粗体</b>", "<b>粗体</b>"),  # plain text: shown escaped, never run
        ("👨\u200d👩\u200d👧 一家", "👨\u200d👩\u200d👧 一家"),  # the joiner emoji need stays
        ("字" * 32, "字" * 32),
    ],
)
def test_a_name_is_kept_trimmed_as_typed(typed, kept):
    assert clean_name(typed) == kept


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请填写昵称"),
        ("   ", "请填写昵称"),
        ("\u3164\u3164", "请填写昵称"),  # Hangul fillers draw nothing
        ("\u200d", "请填写昵称"),
        ("字" * 33, "昵称最多 32 个字"),
        ("字" * 500, "昵称最多 32 个字"),
        ("第一行\n第二行", "昵称里不能有换行、制表符或看不见的字符"),
        ("a\tb", "昵称里不能有换行、制表符或看不见的字符"),
        ("admin\u202egnp.exe", "昵称里不能有换行、制表符或看不见的字符"),  # bidi override
        ("看\u200b不见", "昵称里不能有换行、制表符或看不见的字符"),  # zero-width space
        ("null\x00", "昵称里不能有换行、制表符或看不见的字符"),
        ("微信用户", "「微信用户」是微信的默认名，请换一个"),
    ],
)
def test_a_name_that_cannot_be_shown_is_refused_with_a_reason(typed, message):
    with pytest.raises(ProfileRejected) as rejected:
        clean_name(typed)
    assert rejected.value.message == message


# --- helpers ----------------------------------------------------------------------------------


def _phone(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    return client


def _signed_in(app, nickname="小红", scope=None):
    """A phone inside WeChat, signed in through the sandbox; the client and its reader's id."""
    phone = _phone(app)
    WeChatSignIn(phone).sign_in(nickname=nickname, scope=scope)
    return phone, session_reader_id(app, phone)


def _picture(fmt="PNG", size=(640, 480), color="#2563eb", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def _form_token(client) -> str:
    return csrf_token_in(client.get("/me/profile").get_data(as_text=True))


def _save_name(client, name, **query):
    return client.post(
        "/me/profile/name",
        query_string=query,
        data={"csrf_token": _form_token(client), "name": name},
    )


def _upload(client, data: bytes, filename="me.png"):
    # Encoded here, in memory: the test client would spool a body this large to a temporary
    # file it never closes.
    boundary, body = encode_multipart(
        {"csrf_token": _form_token(client), "avatar": FileStorage(io.BytesIO(data), filename)}
    )
    return client.post(
        "/me/profile/avatar",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _reader(app, reader_id) -> Reader:
    with app.app_context():
        reader = db.session.get(Reader, reader_id)
        db.session.expunge(reader)
        return reader


def _avatars(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"]) / profiles.AVATAR_FOLDER


def _avatar_src(page: str) -> str:
    return re.search(r'class="avatar" src="(/media/avatars/[^"]+)"', page).group(1)


# --- 我的: setting them -----------------------------------------------------------------------


def test_a_wechat_reader_sets_a_name_and_sees_it_on_their_page(app):
    phone, reader_id = _signed_in(app)
    assert f"微信读者{reader_id}" in phone.get("/me").get_data(as_text=True)
    form = phone.get("/me/profile").get_data(as_text=True)
    assert "昵称" in form and 'name="csrf_token"' in form and 'name="avatar"' in form

    response = _save_name(phone, "  明明 ")
    assert response.status_code == 302 and response.location.endswith("/me")
    page = phone.get("/me").get_data(as_text=True)
    assert "昵称已保存" in page and "明明" in page
    assert _reader(app, reader_id).chosen_name == "明明"


def test_a_refused_name_is_shown_again_with_the_reason_and_nothing_is_saved(app):
    phone, reader_id = _signed_in(app)
    response = _save_name(phone, "第一行\n第二行")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "昵称里不能有换行、制表符或看不见的字符" in page and 'aria-invalid="true"' in page
    assert _reader(app, reader_id).chosen_name is None


def test_a_form_without_its_csrf_token_is_refused(app):
    phone, reader_id = _signed_in(app)
    assert phone.post("/me/profile/name", data={"name": "明明"}).status_code == 400
    assert _reader(app, reader_id).chosen_name is None


def test_saving_returns_to_the_page_the_reader_came_from(app, article):
    phone, _ = _signed_in(app)
    assert f"/me/profile?next=/p/{article}/tip" in phone.get(f"/p/{article}/tip").get_data(
        as_text=True
    )
    response = _save_name(phone, "明明", next=f"/p/{article}/tip")
    assert response.location.endswith(f"/p/{article}/tip")
    assert 'value="明明"' in phone.get(f"/p/{article}/tip").get_data(as_text=True)
    assert _save_name(phone, "明明", next="https://evil.example/").location.endswith("/me")


def test_a_good_picture_becomes_a_square_avatar_served_for_a_year(app):
    phone, reader_id = _signed_in(app)
    exif = Image.Exif()
    exif[0x010F] = "Leaky Camera Co."  # Make; a phone's photo carries GPS the same way
    photo = io.BytesIO()
    Image.frombytes("RGB", (600, 400), os.urandom(600 * 400 * 3)).save(photo, "JPEG", exif=exif)
    assert len(photo.getvalue()) > app.config["FORM_MAX_BODY_BYTES"]  # larger than a form
    response = _upload(phone, photo.getvalue(), "photo.jpg")
    assert response.status_code == 302

    src = _avatar_src(phone.get("/me").get_data(as_text=True))
    assert re.fullmatch(rf"/media/avatars/{reader_id}-[0-9a-f]{{10}}\.jpg", src)
    served = phone.get(src)
    data = served.get_data()
    served.close()
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.cache_control.max_age == 365 * 24 * 3600 and served.cache_control.immutable
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (profiles.AVATAR_SIZE, profiles.AVATAR_SIZE)
        assert not stored.getexif() and "exif" not in stored.info


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just text, named like a picture", "头像只支持 JPEG、PNG 或 WebP 图片"),
        (_picture("GIF"), "头像只支持 JPEG、PNG 或 WebP 图片"),
        (_picture("PNG")[:300], "头像只支持 JPEG、PNG 或 WebP 图片"),
        (_picture("PNG") + b"\0" * profiles.MAX_AVATAR_BYTES, "头像图片不能超过 2 MB"),
    ],
    ids=["text", "gif", "truncated", "too-big"],
)
def test_a_bad_upload_is_refused_with_a_reason_and_stores_nothing(app, data, message):
    phone, reader_id = _signed_in(app)
    response = _upload(phone, data, "avatar.png")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _reader(app, reader_id).chosen_avatar is None
    assert not _avatars(app).exists() or not list(_avatars(app).iterdir())


def test_an_upload_far_too_big_is_refused_before_it_is_read(app):
    phone, _ = _signed_in(app)
    declared = 4 * profiles.MAX_AVATAR_BYTES + 1
    response = phone.post(
        "/me/profile/avatar",
        input_stream=io.BytesIO(b""),  # never read: the declared length is enough
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(declared)},
    )
    assert response.status_code == 413
    assert "提交的内容太大了" in response.get_data(as_text=True)


def test_the_form_without_a_file_asks_for_one(app):
    phone, _ = _signed_in(app)
    response = phone.post(
        "/me/profile/avatar",
        data={"csrf_token": _form_token(phone)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "请选择一张图片" in response.get_data(as_text=True)


def test_a_new_avatar_replaces_the_old_file_and_going_back_removes_it(app):
    phone, reader_id = _signed_in(app, nickname="小红", scope="userinfo")
    _upload(phone, _picture(color="#ff0000"))
    first = _reader(app, reader_id).chosen_avatar
    _upload(phone, _picture(color="#00ff00"))
    second = _reader(app, reader_id).chosen_avatar
    assert first != second
    assert [path.name for path in _avatars(app).iterdir()] == [second]
    _save_name(phone, "明明")

    form = phone.get("/me/profile").get_data(as_text=True)
    response = phone.post(
        "/me/profile/wechat", data={"csrf_token": csrf_token_in(form)}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "已改回微信的昵称和头像" in page and "小红" in page and "/sandbox/avatar/" in page
    assert list(_avatars(app).iterdir()) == []
    reader = _reader(app, reader_id)
    assert (reader.chosen_name, reader.chosen_avatar, reader.nickname) == (None, None, "小红")


def test_guests_are_asked_to_sign_in_and_cannot_set_a_name(app, client, article):
    page = client.get("/me/profile").get_data(as_text=True)
    assert "绑定微信后才能设置昵称和头像" in page and 'name="name"' not in page
    assert "设置昵称和头像" not in client.get("/me").get_data(as_text=True)
    token = csrf_token_in(client.get(f"/p/{article}/tip").get_data(as_text=True))
    assert client.post("/me/profile/name", data={"csrf_token": token, "name": "x"}).status_code == (
        403
    )
    with app.app_context():
        guest = Reader()
        db.session.add(guest)
        db.session.flush()
        with pytest.raises(ProfileRejected):
            profiles.choose_name(guest, "明明")


# --- WeChat's word never overrides the reader's, nor does its placeholder count ---------------


def _rename_in_wechat(app, nickname: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(SandboxUser).values(nickname=nickname))
        db.session.commit()


def test_wechat_placeholder_is_never_taken_for_a_name_or_a_picture(app):
    phone, reader_id = _signed_in(app, nickname="小红", scope="userinfo")
    known = _reader(app, reader_id)
    assert known.nickname == "小红" and known.avatar_url

    _rename_in_wechat(app, "微信用户")  # WeChat stops describing them: placeholder, grey picture
    WeChatSignIn(phone).sign_in(scope="userinfo", openid=known.openid)
    again = _reader(app, reader_id)
    assert (again.nickname, again.avatar_url) == ("小红", known.avatar_url)


def test_a_reader_wechat_never_described_is_named_by_the_shop(app):
    phone, reader_id = _signed_in(app, nickname="微信用户", scope="userinfo")
    reader = _reader(app, reader_id)
    assert (reader.nickname, reader.avatar_url) == (None, None)
    page = phone.get("/me").get_data(as_text=True)
    assert f"微信读者{reader_id}" in page and "qlogo" not in page


def test_the_name_the_reader_chose_wins_over_what_wechat_sends_later(app):
    phone, reader_id = _signed_in(app, nickname="小红", scope="userinfo")
    _save_name(phone, "明明")
    _rename_in_wechat(app, "红红")
    WeChatSignIn(phone).sign_in(scope="userinfo", openid=_reader(app, reader_id).openid)
    reader = _reader(app, reader_id)
    assert (reader.chosen_name, reader.nickname) == ("明明", "红红")
    assert "明明" in phone.get("/me").get_data(as_text=True)


# --- shown everywhere at once, cached pages included ------------------------------------------


def _pay_in_wechat(app, phone, pay_page: str) -> None:
    params = jsapi_parameters(phone.get(pay_page).get_data(as_text=True))
    assert phone.post("/sandbox/pay/jsapi/pay", json=params).get_json()["ok"] is True
    deliver_due_notifications(app)


def test_a_new_name_and_avatar_show_at_once_on_the_wall_in_the_studio_and_on_my_page(
    app, article, studio
):
    phone, reader_id = _signed_in(app)
    buy = phone.get(f"/p/{article}/buy").get_data(as_text=True)
    placed = phone.post(
        f"/p/{article}/buy", data={"csrf_token": csrf_token_in(buy), "price_fen": "1990"}
    )
    _pay_in_wechat(app, phone, placed.location)
    tipped = send_tip_form(phone, f"/p/{article}/tip", preset_fen="500", name="")
    _pay_in_wechat(app, phone, tipped.location)

    visitor = app.test_client()
    for _ in range(2):  # rendered, then served from the cache
        assert "一位读者" in visitor.get(f"/p/{article}").get_data(as_text=True)
        assert f"微信读者{reader_id}" in phone.get("/me").get_data(as_text=True)
        phone.get(f"/p/{article}")

    _save_name(phone, "明明")
    assert "明明" in visitor.get(f"/p/{article}").get_data(as_text=True)
    assert "明明" in phone.get(f"/p/{article}").get_data(as_text=True)
    for _ in range(2):  # with the flash, then from the cache under the new facts
        assert "明明" in phone.get("/me").get_data(as_text=True)

    _upload(phone, _picture())
    avatar = f"/media/avatars/{_reader(app, reader_id).chosen_avatar}"
    assert avatar in visitor.get(f"/p/{article}").get_data(as_text=True)
    for _ in range(2):
        assert avatar in phone.get("/me").get_data(as_text=True)
    readers = studio.get("/studio/readers").get_data(as_text=True)
    assert "明明" in readers
    assert "明明" in studio.get("/studio/readers", query_string={"q": "明"}).get_data(as_text=True)
    assert "明明" in studio.get("/studio/tips").get_data(as_text=True)
