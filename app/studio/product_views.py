"""Studio: 内容管理. Products of every kind, their sections and files, and the live preview.

Views parse the form, call app.catalog.editing, and render; the rules live there.
"""

from dataclasses import asdict
from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from app.catalog import cover_uploads, downloads, editing
from app.catalog.editing import ProductFields, Rejected, SectionFields
from app.extensions import db
from app.media import delivery
from app.models import ProductFile, ProductKind, ProductStatus, Section
from app.studio import bp
from app.transactions import writing


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _product_or_404(product_id: int):
    return editing.product_by_id(product_id) or abort(404)


def _kind_or_404(kind: str) -> ProductKind:
    try:
        return ProductKind(kind)
    except ValueError:
        abort(404)


def _edit_url(product, anchor: str = "") -> str:
    return url_for("studio.product_edit", product_id=product.id) + anchor


@bp.get("/products")
def products():
    status = request.args.get("status", "")
    chosen = ProductStatus(status) if status in set(ProductStatus) else None
    folder = _upload_folder() / "covers"
    rows = editing.product_rows(chosen)
    return render_template(
        "studio/products/list.html",
        rows=rows,
        thumbnails={
            row.product.id: cover_uploads.thumbnail_or_cover(folder, row.product.cover_image)
            for row in rows
        },
        status=chosen.value if chosen else "",
        kinds=list(ProductKind),
    )


def _product_fields() -> ProductFields:
    form = request.form
    return ProductFields(
        title=form.get("title", ""),
        slug=form.get("slug", ""),
        summary=form.get("summary", ""),
        price_yuan=form.get("price_yuan", ""),
        tags=form.get("tags", ""),
        featured=bool(form.get("featured")),
        pay_what_you_want=bool(form.get("pay_what_you_want")),
        min_price_yuan=form.get("min_price_yuan", ""),
        buyers_share_a_read=bool(form.get("buyers_share_a_read")),
        member_price_yuan=form.get("member_price_yuan", ""),
        download_limit=form.get("download_limit", ""),
        no_seek_ahead=bool(form.get("no_seek_ahead")),
        membership_days=form.get("membership_days", ""),
        member_item_ids=tuple(int(i) for i in form.getlist("member_item_ids") if i.isdigit()),
        body_md=form.get("body_md", ""),
    )


def _uploaded_cover() -> bytes | None:
    upload = request.files.get("cover")
    if upload is None or not upload.filename:
        return None
    # One byte over the limit is enough for the service to refuse it.
    return upload.stream.read(cover_uploads.MAX_COVER_BYTES + 1)


def _product_form(kind: ProductKind, fields: ProductFields, product=None, errors=None):
    status = 400 if errors else 200
    return render_template(
        "studio/products/edit.html",
        kind=kind,
        product=product,
        fields=fields,
        errors=errors or {},
        max_cover_mb=cover_uploads.MAX_COVER_BYTES // (1024 * 1024),
        max_file_mb=editing.MAX_FILE_BYTES // (1024 * 1024),
        deletion_refused=editing.deletion_refused(product) if product else None,
        download_counts=downloads.counts(product.id) if product is not None else {},
        media_list=delivery.in_place(product, None)
        if product is not None and kind is not ProductKind.MEMBERSHIP
        else None,
        member_choices=[
            row.product for row in editing.product_rows() if not row.product.is_membership
        ]
        if kind is ProductKind.MEMBERSHIP
        else [],
    ), status


@bp.route("/products/new/<kind>", methods=["GET", "POST"])
def product_new(kind: str):
    product_kind = _kind_or_404(kind)
    if request.method == "GET":
        return _product_form(product_kind, ProductFields())
    fields = _product_fields()
    try:
        with writing():
            product = editing.create_product(
                product_kind, fields, _upload_folder(), _uploaded_cover()
            )
    except Rejected as rejected:
        return _product_form(product_kind, fields, errors=rejected.errors)
    flash(f"已保存草稿：{product.title}", "info")
    return redirect(_edit_url(product))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
def product_edit(product_id: int):
    product = _product_or_404(product_id)
    if request.method == "GET":
        return _product_form(product.kind, ProductFields.of(product), product)
    fields = _product_fields()
    try:
        with writing():
            product = _product_or_404(product_id)
            replaced = editing.update_product(product, fields, _upload_folder(), _uploaded_cover())
    except Rejected as rejected:
        return _product_form(product.kind, fields, product, rejected.errors)
    if replaced:  # only now: had the commit failed, the product would still show it
        cover_uploads.remove_cover(_upload_folder() / "covers", replaced)
    flash("已保存", "info")
    return redirect(_edit_url(product))


@bp.post("/products/<int:product_id>/delete")
def product_delete(product_id: int):
    try:
        with writing():
            product = _product_or_404(product_id)
            title = product.title
            leftovers = editing.delete_product(product, _upload_folder())
    except Rejected as rejected:
        flash(rejected.errors["delete"], "error")
        return redirect(_edit_url(product))
    for path in leftovers:  # only now: had the commit failed, the product would still use them
        path.unlink(missing_ok=True)
    flash(f"已删除：{title}", "info")
    return redirect(url_for(".products"))


@bp.post("/products/<int:product_id>/publish")
def product_publish(product_id: int):
    with writing():
        product = _product_or_404(product_id)
        if request.form.get("published") == "1":
            editing.publish(product)
            message = "已上架，读者现在可以看到它"
        else:
            editing.unpublish(product)
            message = "已下架：不再出现在店铺里，已购读者仍可阅读"
    flash(message, "info")
    return redirect(_edit_url(product))


@bp.post("/products/preview")
def product_preview():
    """The editor's live preview: JSON in, the storefront's rendering out (CSRF header)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("markdown"), str):
        abort(400)
    markdown = data["markdown"]
    kind = data.get("kind")
    product_kind = None if kind == "section" else _kind_or_404(kind)
    price_yuan = data.get("price_yuan")
    if not isinstance(price_yuan, str):
        price_yuan = None
    return jsonify(asdict(editing.preview(markdown, product_kind, price_yuan)))


# --- sections ------------------------------------------------------------------------------


def _section_or_404(product, section_id: int) -> Section:
    return next((s for s in product.sections if s.id == section_id), None) or abort(404)


def _section_fields() -> SectionFields:
    form = request.form
    return SectionFields(
        title=form.get("title", ""),
        body_md=form.get("body_md", ""),
        is_free=bool(form.get("is_free")),
    )


def _section_form(product, fields: SectionFields, section=None, errors=None):
    return render_template(
        "studio/products/section.html",
        product=product,
        section=section,
        media_list=delivery.in_place(product, section) if section is not None else [],
        fields=fields,
        errors=errors or {},
    ), (400 if errors else 200)


@bp.route("/products/<int:product_id>/sections/new", methods=["GET", "POST"])
def product_section_new(product_id: int):
    product = _product_or_404(product_id)
    if product.kind not in (ProductKind.COURSE, ProductKind.COLUMN):
        abort(404)
    if request.method == "GET":
        return _section_form(product, SectionFields())
    fields = _section_fields()
    try:
        with writing():
            product = _product_or_404(product_id)
            section = editing.add_section(product, fields)
    except Rejected as rejected:
        return _section_form(product, fields, errors=rejected.errors)
    flash(f"已添加{product.kind.section_label}：{section.title}", "info")
    return redirect(_edit_url(product, "#sections"))


@bp.route("/products/<int:product_id>/sections/<int:section_id>", methods=["GET", "POST"])
def product_section_edit(product_id: int, section_id: int):
    product = _product_or_404(product_id)
    section = _section_or_404(product, section_id)
    if request.method == "GET":
        return _section_form(product, SectionFields.of(section), section)
    fields = _section_fields()
    try:
        with writing():
            product = _product_or_404(product_id)
            section = _section_or_404(product, section_id)
            editing.update_section(section, fields)
    except Rejected as rejected:
        return _section_form(product, fields, section, rejected.errors)
    flash("已保存", "info")
    return redirect(_edit_url(product, "#sections"))


@bp.post("/products/<int:product_id>/sections/<int:section_id>/move")
def product_section_move(product_id: int, section_id: int):
    with writing():
        product = _product_or_404(product_id)
        step = {"up": -1, "down": 1}.get(request.form.get("direction", ""), 0)
        editing.move_section(_section_or_404(product, section_id), step)
    return redirect(_edit_url(product, "#sections"))


@bp.post("/products/<int:product_id>/sections/<int:section_id>/delete")
def product_section_delete(product_id: int, section_id: int):
    with writing():
        product = _product_or_404(product_id)
        section = _section_or_404(product, section_id)
        title = section.title
        editing.delete_section(section)
    flash(f"已删除：{title}", "info")
    return redirect(_edit_url(product, "#sections"))


# --- files -----------------------------------------------------------------------------------


@bp.post("/products/<int:product_id>/files")
def product_file_add(product_id: int):
    upload = request.files.get("file")
    try:
        with writing():
            product = _product_or_404(product_id)
            if upload is None or not upload.filename:
                flash("请选择要上传的文件", "error")
                return redirect(_edit_url(product, "#files"))
            record = editing.add_file(
                product, _upload_folder(), upload.stream, upload.filename, upload.mimetype
            )
    except Rejected as rejected:
        flash(str(rejected), "error")
        return redirect(_edit_url(product, "#files"))
    flash(f"已上传：{record.filename}", "info")
    return redirect(_edit_url(product, "#files"))


@bp.post("/products/<int:product_id>/files/<int:file_id>/delete")
def product_file_delete(product_id: int, file_id: int):
    with writing():
        product = _product_or_404(product_id)
        record = db.session.get(ProductFile, file_id)
        if record is None or record.product_id != product.id:
            abort(404)
        filename = record.filename
        editing.delete_file(record, _upload_folder())
    flash(f"已删除文件：{filename}", "info")
    return redirect(_edit_url(product, "#files"))
