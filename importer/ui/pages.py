"""Rendering shared by every route: templates, the common page context, small helpers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from importer.check.summary import labelled_amounts
from importer.records import FIELD_LABELS
from importer.ui.wording import for_page, how_many

TEMPLATES = Path(__file__).parent / "templates"

#: The steps of an import, in the order the navigation shows them.
STEPS = (
    ("columns", "Match columns"),
    ("questions", "Questions"),
    ("review", "Review"),
    ("online", "Check online"),
    ("send", "Send"),
    ("results", "Results"),
)


def _amount(value: object) -> str:
    """An amount with thousands separators, as a finance reader expects it."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.2f}"


def build_environment() -> Environment:
    """The Jinja2 environment: autoescaping everywhere, so every cell is shown as text."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["amount"] = _amount
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["how_many"] = how_many  # {{ n|how_many("row") }}: "1 row", "1,234 rows"
    env.filters["page_words"] = for_page  # engine text: flag advice in the page's words
    env.filters["labelled"] = labelled_amounts  # {% for label, value in amounts|labelled %}
    env.globals["field_label"] = lambda name: FIELD_LABELS.get(name, name)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any):
    """Render ``template`` with the context every page shares."""
    state = request.app.state
    settings = state.settings
    page = state.env.get_template(template).render(
        request=request,
        sandbox=settings.sandbox,
        api_url=settings.api_url,
        key_set=settings.api_key.is_set,
        key_last_four=settings.api_key.last_four,
        csrf=request.state.csrf_token,
        action=form_action,
        steps=STEPS,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def form_action(path: str, **query: object) -> str:
    """A POST target. The CSRF token is never in it: it is each form's first field."""
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path


def redirect(path: str) -> RedirectResponse:
    """See-other redirect after a POST, so reload never posts twice."""
    return RedirectResponse(path, status_code=303)
