"""What the Official Account API's error codes mean, in words a creator can act on.

WeChat answers a refused call with `errcode` and a terse English `errmsg`. The studio and the
commands show both (they are what WeChat's documentation and support speak of) and, for the
codes a shop meets, what to check or change.
"""

EXPLANATIONS = {
    -1: "微信系统繁忙，请稍后再试。",
    40001: (
        "AppSecret 不对，或 access_token 已失效："
        "核对 WECHAT_APP_SECRET（公众号后台 → 设置与开发 → 基本配置）。"
    ),
    40013: "AppID 不对：核对 WECHAT_APPID。",
    40125: "AppSecret 不对：核对 WECHAT_APP_SECRET。",
    40164: (
        "这台服务器的 IP 不在公众号的 IP 白名单里："
        "在 公众号后台 → 设置与开发 → 基本配置 → IP白名单 加入服务器的公网 IP。"
    ),
    42001: "access_token 已过期：店铺会自动换新，请再试一次。",
    45009: "这个接口今天的调用次数已用完，明天再试。",
    45011: "调用太频繁，请一分钟后再试。",
    48001: (
        "公众号没有这个接口的权限：个人订阅号和未认证的公众号不能用接口设置菜单，"
        "可在公众号后台「接口权限」查看。"
    ),
    # The custom menu: WeChat's checks, one code per kind of mistake.
    40016: "一级菜单的按钮个数不对：应为 1 到 3 个。",
    40017: "有按钮的类型（type）不对，或缺少 type。",
    40018: "有按钮的名字为空或太长：一级菜单最多 16 字节（4 个汉字），子菜单最多 60 字节。",
    40019: "有按钮的 key 为空或太长：点击、扫码等按钮需要 1 到 128 字节的 key。",
    40020: "有按钮的链接太长：最多 1024 字节。",
    40021: "菜单的版本号不对。",
    40022: "菜单层级不对：最多两级，子菜单里不能再有子菜单。",
    40023: "有子菜单的按钮个数不对：每个一级菜单下 1 到 5 个。",
    40024: "有子菜单按钮的类型不对。",
    40025: "有子菜单按钮的名字太长。",
    40026: "有子菜单按钮的 key 太长。",
    40027: "有子菜单按钮的链接太长。",
    40054: "有子菜单按钮的链接不合法：须是完整的 http(s) 网址。",
    40055: "有按钮的链接不合法：须是完整的 http(s) 网址。",
    46003: "公众号还没有自定义菜单。",
}


def explain(errcode: int, errmsg: str = "") -> str:
    """'微信返回 40018（invalid button name size）：…' — WeChat's words, then what they mean."""
    said = f"微信返回 {errcode}" + (f"（{errmsg}）" if errmsg and errmsg != str(errcode) else "")
    meaning = EXPLANATIONS.get(errcode)
    return f"{said}：{meaning}" if meaning else f"{said}。"
