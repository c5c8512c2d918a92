"""The creator's settings: the shop's public profile, the WeChat configuration as it stands,
and the creator's password.

Plain Python: the views parse the form and build the URLs WeChat is given; the rules are here.
"""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.catalog import queries
from app.catalog.richtext import render_markdown
from app.config import SANDBOX_APPID, SANDBOX_MCH_ID
from app.models import ShopProfile

# --- the shop profile ---------------------------------------------------------------------------

# Field -> most characters; the first three are the columns' sizes.
PROFILE_LIMITS = {"name": 40, "tagline": 120, "creator_name": 40, "intro_md": 20000}
_PROFILE_LABELS = {
    "name": "店铺名称",
    "tagline": "一句话介绍",
    "creator_name": "作者名",
    "intro_md": "作者介绍",
}
_KEEP_FORMAT = {"\u200d"}  # the zero-width joiner holds emoji sequences together


@dataclass(frozen=True)
class ProfileInput:
    name: str
    tagline: str
    creator_name: str
    intro_md: str

    @classmethod
    def of(cls, profile: ShopProfile) -> "ProfileInput":
        return cls(profile.name, profile.tagline, profile.creator_name, profile.intro_md)


class ProfileRefused(ValueError):
    """The form's problems, one Chinese message per field name."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check_profile(data: ProfileInput) -> ProfileInput:
    """The profile cleaned (one-line fields without control characters or runs of spaces),
    or ProfileRefused naming every field that is wrong."""
    cleaned = ProfileInput(
        name=_one_line(data.name),
        tagline=_one_line(data.tagline),
        creator_name=_one_line(data.creator_name),
        intro_md=(data.intro_md or "").replace("\r\n", "\n").strip(),
    )
    errors = {
        field: f"{_PROFILE_LABELS[field]}最多 {limit} 个字"
        for field, limit in PROFILE_LIMITS.items()
        if len(getattr(cleaned, field)) > limit
    }
    if not cleaned.name:
        errors["name"] = "请填写店铺名称"
    if errors:
        raise ProfileRefused(errors)
    return cleaned


def save_profile(data: ProfileInput) -> ShopProfile:
    """Check and store the profile; the introduction is rendered to safe HTML here, once."""
    cleaned = check_profile(data)
    profile = queries.editable_shop_profile()
    profile.name = cleaned.name
    profile.tagline = cleaned.tagline
    profile.creator_name = cleaned.creator_name
    profile.intro_md = cleaned.intro_md
    profile.intro_html = render_markdown(cleaned.intro_md)
    queries.mark_content_changed()
    return profile


def _one_line(text: str | None) -> str:
    text = unicodedata.normalize("NFC", text or "")
    kept = "".join(
        ch
        for ch in text
        if ch.isspace() or ch in _KEEP_FORMAT or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(kept.split())


# --- WeChat: what is configured, and what is left to do at WeChat ------------------------------


@dataclass(frozen=True)
class ShopUrls:
    """Absolute URLs as WeChat must be given them (built by the view with public_url)."""

    payment_notify: str
    refund_notify: str
    oauth_callback: str
    pay_directory: str  # the folder the JSAPI pay pages live in, with a trailing slash


@dataclass(frozen=True)
class ConfigItem:
    key: str
    label: str
    is_set: bool
    shown: str | None = None  # the value itself: only for ids, never for a secret
    note: str = ""


@dataclass(frozen=True)
class ChecklistStep:
    text: str
    done: bool | None  # None: done at WeChat, nothing here can tell


@dataclass(frozen=True)
class WeChatStatus:
    sandbox: bool
    items: list[ConfigItem]
    public_base_url: str
    urls: ShopUrls
    oauth_domain: str
    checklist: list[ChecklistStep]


def wechat_status(config: Mapping, urls: ShopUrls) -> WeChatStatus:
    """What the shop is configured with. Secrets appear only as set / not set: their values
    never leave this function."""
    sandbox = bool(config["WECHAT_SANDBOX"])
    appid, mch_id = config["WECHAT_APPID"], config["WECHAT_MCH_ID"]
    cert = _file_item("WECHAT_PAY_CERT_PATH", "商户证书（退款用）", config["WECHAT_PAY_CERT_PATH"])
    key = _file_item("WECHAT_PAY_KEY_PATH", "证书私钥（退款用）", config["WECHAT_PAY_KEY_PATH"])
    items = [
        ConfigItem(
            "WECHAT_APPID",
            "公众号 AppID",
            bool(appid),
            shown=appid or None,
            note="沙箱测试号" if appid == SANDBOX_APPID else "",
        ),
        _secret_item("WECHAT_APP_SECRET", "公众号 AppSecret", config, sandbox),
        ConfigItem(
            "WECHAT_MCH_ID",
            "商户号",
            bool(mch_id),
            shown=mch_id or None,
            note="沙箱测试商户号" if mch_id == SANDBOX_MCH_ID else "",
        ),
        _secret_item("WECHAT_PAY_API_KEY", "APIv2 密钥", config, sandbox),
        cert,
        key,
    ]
    public_base_url = config["PUBLIC_BASE_URL"]
    oauth_domain = urlsplit(urls.oauth_callback).netloc
    real_ids = bool(appid) and appid != SANDBOX_APPID and bool(mch_id) and mch_id != SANDBOX_MCH_ID
    checklist = [
        ChecklistStep(
            "关闭沙箱：在 instance/config.py 中一并填写 WECHAT_APPID、WECHAT_APP_SECRET、"
            "商户号与密钥（缺一项商店就不启动，并说明缺什么）",
            not sandbox and bool(config["WECHAT_APP_SECRET"]) and real_ids,
        ),
        ChecklistStep(
            "商户平台：开通商户号并绑定公众号 AppID，开通 JSAPI、Native、H5 支付",
            None,
        ),
        ChecklistStep(
            "填写 WECHAT_MCH_ID 与 APIv2 密钥 WECHAT_PAY_API_KEY（账户中心 → API安全）",
            not sandbox and real_ids and bool(config["WECHAT_PAY_API_KEY"]),
        ),
        ChecklistStep(
            "申请 API 证书，设置 WECHAT_PAY_CERT_PATH 与 WECHAT_PAY_KEY_PATH（退款需要）",
            _is_file(config["WECHAT_PAY_CERT_PATH"]) and _is_file(config["WECHAT_PAY_KEY_PATH"]),
        ),
        ChecklistStep(
            "设置 PUBLIC_BASE_URL 为店铺的 https 公网地址（通知地址由它生成）",
            public_base_url.startswith("https://"),
        ),
        ChecklistStep(f"商户平台 → 开发配置 → 支付授权目录：{urls.pay_directory}", None),
        ChecklistStep(f"商户平台 → 开发配置 → H5支付域名：{oauth_domain}", None),
        ChecklistStep(
            f"公众号后台 → 功能设置 → 网页授权域名：{oauth_domain}（并放置 MP_verify 校验文件）",
            None,
        ),
        ChecklistStep(
            "用一分钱商品分别以三种方式支付并退款，然后定时运行 flask orders reconcile",
            None,
        ),
    ]
    return WeChatStatus(
        sandbox=sandbox,
        items=items,
        public_base_url=public_base_url,
        urls=urls,
        oauth_domain=oauth_domain,
        checklist=checklist,
    )


def _secret_item(key: str, label: str, config: Mapping, sandbox: bool) -> ConfigItem:
    # In sandbox mode config.finalize fills missing secrets with derived test values.
    note = "沙箱模式下未填写时自动生成测试值" if sandbox else ""
    return ConfigItem(key, label, bool(config[key]), note=note)


def _file_item(key: str, label: str, path: str) -> ConfigItem:
    """A certificate path: set or not, and whether the file is there (the path is not shown)."""
    if not path:
        return ConfigItem(key, label, False)
    return ConfigItem(key, label, True, note="" if _is_file(path) else "文件不存在")


def _is_file(path: str) -> bool:
    return bool(path) and Path(path).is_file()
