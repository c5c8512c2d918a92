from app.catalog.richtext import render_markdown, split_at_marker


def test_markdown_renders_common_formatting():
    html = render_markdown("## 标题\n\n- 一\n- 二\n\n**粗体** 和 [链接](https://example.com)")
    assert "<h2>标题</h2>" in html
    assert "<li>一</li>" in html
    assert "<strong>粗体</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_script_and_event_handlers_never_reach_the_page():
    html = render_markdown(
        "安全测试 <script>alert('x')</script> <img src=x onerror=alert(1)>\n\n"
        '<div onclick="steal()">点我</div>'
    )
    # Raw HTML is shown as text, never as tags.
    assert "<script" not in html
    assert "<img" not in html
    assert "<div" not in html
    assert "&lt;script&gt;" in html


def test_javascript_urls_are_dropped():
    for source in (
        "[一个危险链接](javascript:alert(1))",
        "[大小写](JaVaScRiPt:alert(1))",
        "![图](javascript:alert(1))",
        "[数据](data:text/html;base64,PHNjcmlwdD4=)",
    ):
        html = render_markdown(source).lower()
        # The text may stay visible as text; it must never become a link or an image source.
        assert "href=" not in html
        assert "src=" not in html


def test_images_and_tables_survive_sanitising():
    html = render_markdown("![封面](https://example.com/a.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert '<img src="https://example.com/a.png" alt="封面">' in html
    assert "<table>" in html


def test_preview_marker_splits_free_from_paid():
    assert split_at_marker("免费\n\n<!--more-->\n\n付费") == ("免费\n\n", "\n\n付费")
    assert split_at_marker("免费\n  <!-- more -->  \n付费")[1].strip() == "付费"
    assert split_at_marker("没有标记") is None
    # A marker inside a line of text is not a marker.
    assert split_at_marker("文字 <!--more--> 文字") is None
