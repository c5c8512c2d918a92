"""The layout's rules, read from the code's imports: packages import in one direction.

Each package under app/ is one concern. Views (the blueprints) call services, services use
models, and no two packages import each other, directly or around a longer circle: a cycle
is where one concern starts to leak into another. The sandbox stands in for WeChat, so it
reaches the shop only over the protocols, never through the shop's services; and wechatpy
stays behind the interfaces of app/wechat and app/payments.
"""

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

BLUEPRINTS = {
    "app.accounts",
    "app.checkout",
    "app.official_account",
    "app.sharing",
    "app.storefront",
    "app.studio",
    "app.sandbox",
}
SERVICES = {
    "app.catalog",
    "app.readers",
    "app.payments",
    "app.analytics",
    "app.recommendations",
    "app.wechat",
}
# What the sandbox may use of the shop: the database handle and plain helpers.
SANDBOX_MAY_IMPORT = {
    "app.extensions",
    "app.models.base",
    "app.money",
    "app.transactions",
    "app.web.redirects",
    "app.web.request_limits",
}


def _imported_names(path: Path) -> set[str]:
    """The absolute module names a file imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every app module and the app modules it imports, at any depth of the code."""
    found: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "app":
                    names.update(f"app.{alias.name}" for alias in node.names)
                elif node.module.startswith("app."):
                    names.add(node.module)
                    names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("app."))
        found[_module_name(path)] = names
    modules = set(found)
    # `from app.x import name` names a module only when such a module exists
    return {m: {n for n in names if n in modules} for m, names in found.items()}


def _package(module: str) -> str:
    """app.payments.orders -> app.payments; root modules (app.money) are their own unit."""
    return ".".join(module.split(".")[:2])


def _package_graph() -> dict[str, dict[str, set[str]]]:
    """package -> imported package -> the modules that make the arrow."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, imported in _imports().items():
        for target in imported:
            if _package(target) != _package(module):
                graph[_package(module)][_package(target)].add(f"{module} -> {target}")
    return graph


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, {}):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return components


def test_no_two_packages_import_each_other():
    graph = _package_graph()
    cycles = _cycles(graph)
    arrows = [
        arrow
        for component in cycles
        for source in component
        for target in component
        for arrow in sorted(graph[source].get(target, ()))
    ]
    assert not cycles, "package cycles: " + "; ".join(arrows)


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b": {"a.x -> b.y"}}, "b": {"c": {"b.y -> c.z"}}, "c": {"a": {"c.z -> a.x"}}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": set()}, "b": {}}) == []


def test_services_never_import_views():
    graph = _package_graph()
    leaks = [
        arrow
        for service in SERVICES
        for blueprint in BLUEPRINTS
        for arrow in graph.get(service, {}).get(blueprint, ())
    ]
    assert not leaks


def test_the_sandbox_reaches_the_shop_only_over_the_protocols():
    leaks = [
        f"{module} -> {target}"
        for module, imported in _imports().items()
        if module.startswith("app.sandbox")
        for target in imported
        if not target.startswith("app.sandbox") and target not in SANDBOX_MAY_IMPORT
    ]
    assert not leaks


def test_the_recommendation_engine_knows_nothing_of_flask_or_the_database():
    for path in (APP / "recommendations" / "engine").rglob("*.py"):
        for name in _imported_names(path):
            root = name.split(".")[0]
            assert root not in {"flask", "sqlalchemy", "flask_sqlalchemy"}, (path, name)
            if root == "app":
                assert name.startswith("app.recommendations.engine"), (path, name)


def test_views_never_import_wechatpy():
    offenders = [
        f"{path.relative_to(APP.parent)}: {name}"
        for blueprint in BLUEPRINTS - {"app.sandbox"}
        for path in sorted((APP / blueprint.removeprefix("app.")).rglob("*.py"))
        for name in _imported_names(path)
        if name.split(".")[0] == "wechatpy"
    ]
    assert offenders == []


def test_the_wechatpy_scan_sees_an_import_of_wechatpy():
    assert "wechatpy.oauth" in _imported_names(APP / "wechat" / "wechatpy_oauth.py")
