"""营销: limited-time offers and coupons, made and stopped by the creator."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from app.catalog import editing, queries
from app.extensions import db
from app.models import Coupon, Offer, Product
from app.models.base import utcnow
from app.pricing import coupons, drafts, offers, points
from app.pricing.refusals import PromotionInvalid
from app.spreadsheet import csv_chunks, csv_download, inert
from app.studio import bp
from app.templating import local_time
from app.transactions import writing


@bp.get("/promotions")
def promotions():
    products = [
        row.product
        for row in editing.product_rows()
        if not row.product.is_free and not row.product.pay_what_you_want
    ]
    return render_template(
        "studio/promotions.html",
        products=products,
        offers=offers.listing(),
        coupons=coupons.listing(),
        usage=coupons.usage(),
        now=utcnow(),
        describe=coupons.describe,
        coupon_state=coupons.state,
        points_rates=points.settings(),
        points_outstanding=points.outstanding(),
    )


@bp.post("/promotions/offers")
def promotion_offer_create():
    product = db.session.get(Product, request.form.get("product_id", type=int) or 0)
    if product is None:
        abort(404)
    try:
        with writing():
            price_fen, starts_at, ends_at = drafts.offer_fields(request.form, _timezone())
            offers.create(product, price_fen, starts_at, ends_at)
            queries.mark_content_changed()  # pages show the price
    except PromotionInvalid as error:
        flash(f"《{product.title}》的限时优惠没有保存：{error}", "error")
    else:
        flash(f"已为《{product.title}》设置限时优惠", "info")
    return redirect(url_for(".promotions") + "#offers")


@bp.post("/promotions/offers/<int:offer_id>/end")
def promotion_offer_end(offer_id: int):
    with writing():
        offer = db.session.get(Offer, offer_id) or abort(404)
        offers.end_now(offer)
        queries.mark_content_changed()
    flash("限时优惠已结束", "info")
    return redirect(url_for(".promotions") + "#offers")


@bp.post("/promotions/coupons")
def promotion_coupon_create():
    product_ids = tuple(int(i) for i in request.form.getlist("product_ids") if i.isdigit())
    try:
        with writing():
            draft, count = drafts.coupon_draft(request.form, product_ids, _timezone())
            made = coupons.create(draft, count)
    except PromotionInvalid as error:
        flash(f"优惠券没有创建：{error}", "error")
    else:
        flash(
            f"已创建优惠码 {made[0].code}"
            if len(made) == 1
            else f"已生成 {len(made)} 个优惠码，可下载表格发给读者",
            "info",
        )
    return redirect(url_for(".promotions") + "#coupons")


@bp.post("/promotions/coupons/<int:coupon_id>/disable")
def promotion_coupon_disable(coupon_id: int):
    with writing():
        coupon = db.session.get(Coupon, coupon_id) or abort(404)
        coupons.disable(coupon)
    flash(f"优惠码 {coupon.code} 已停用；已下单未支付的仍可按原价支付", "info")
    return redirect(url_for(".promotions") + "#coupons")


@bp.post("/promotions/points")
def promotion_points_settings():
    form = request.form
    try:
        with writing():
            queries.editable_shop_profile()  # the rates live in the profile's row
            points.save_settings(
                _whole(form.get("earn_per_yuan"), "每消费 1 元获得的积分"),
                _whole(form.get("per_yuan"), "抵扣 1 元所需积分"),
                _whole(form.get("max_percent"), "最多抵扣比例"),
            )
    except PromotionInvalid as error:
        flash(f"积分设置没有保存：{error}", "error")
    else:
        flash("积分设置已保存", "info")
    return redirect(url_for(".promotions") + "#points")


def _whole(text: str | None, what: str) -> int:
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise PromotionInvalid(f"{what}须为整数")
    return int(text)


@bp.get("/promotions/coupons.csv")
def promotion_coupons_csv():
    usage = coupons.usage()

    def rows():
        yield [
            "优惠码",
            "名称",
            "优惠",
            "适用",
            "开始",
            "结束",
            "总数量",
            "每人限用",
            "已支付使用",
            "未支付占用",
            "优惠金额（元）",
            "状态",
        ]
        for coupon in coupons.listing():
            used = usage.get(coupon.id, coupons.CouponUsage())
            yield [
                coupon.code,
                inert(coupon.name),
                coupons.describe(coupon),
                "全部商品" if coupon.for_all_items else f"{len(coupon.products)} 件商品",
                local_time(coupon.starts_at),
                local_time(coupon.ends_at),
                coupon.total_limit or "不限",
                coupon.per_reader_limit,
                used.paid,
                used.open,
                f"{used.discount_fen / 100:.2f}",
                coupons.state(coupon),
            ]

    stamp = local_time(utcnow(), "%Y%m%d-%H%M%S")
    return csv_download(csv_chunks(rows()), f"coupons-{stamp}.csv")


def _timezone() -> str:
    return current_app.config["SHOP_TIMEZONE"]
