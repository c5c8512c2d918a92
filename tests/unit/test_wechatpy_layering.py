"""wechatpy stays in app/wechat/ and app/payments/: the blueprints use their interfaces."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
BLUEPRINTS = ("accounts", "storefront", "checkout", "studio")


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", BLUEPRINTS)
def test_no_blueprint_imports_wechatpy(package):
    modules = sorted((APP / package).rglob("*.py"))
    assert modules, f"app/{package} has no modules: the scan would prove nothing"
    offenders = [
        f"{path.relative_to(APP.parent)}: {name}"
        for path in modules
        for name in _imported_modules(path)
        if name == "wechatpy" or name.startswith("wechatpy.")
    ]
    assert offenders == []


def test_the_scan_sees_an_import_of_wechatpy():
    assert "wechatpy.oauth" in _imported_modules(APP / "wechat" / "wechatpy_oauth.py")
