"""The web app's steps: each step the navigation shows has its page, each route module is
served, and each page names a step that exists (adding a step misses no place silently)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import importer.ui.routes as routes_package
from importer.ui.pages import STEPS
from importer.ui.routes import ROUTES

STEP_NAMES = [name for name, _ in STEPS]


def route_modules():
    return [
        importlib.import_module(f"{routes_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(routes_package.__path__)
    ]


def test_every_step_of_the_navigation_has_a_page():
    pages = {r.path for r in ROUTES if "GET" in (r.methods or ())}
    assert [n for n in STEP_NAMES if f"/imports/{{import_id}}/{n}" not in pages] == []
    assert len(set(STEP_NAMES)) == len(STEP_NAMES) == 6


def test_every_route_module_is_served():
    served = {id(route) for route in ROUTES}
    with_routes = [m for m in route_modules() if hasattr(m, "routes")]
    assert len(with_routes) == 11
    missing = [m.__name__ for m in with_routes if not all(id(r) in served for r in m.routes)]
    assert missing == []


def test_every_page_names_a_step_of_the_navigation():
    named = set()
    for module in route_modules():
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            is_step = isinstance(node, ast.keyword) and node.arg == "step"
            if is_step and isinstance(node.value, ast.Constant):
                named.add(node.value.value)
    assert named and named <= set(STEP_NAMES)
    assert {"columns", "questions", "online", "results"} <= named
