"""The forms of a page as a browser submits them, for endpoint tests that act like a person:
press a page's own button with the values it shows, after changing only what a person would
(choose an option the dropdown offers, tick a box by its label, type in a box).

A change the page does not offer fails the test: an option that is not in the dropdown (or
is disabled), a box without that label, a form that is not on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Control:
    """One input or select of a form: its current value and what it offers."""

    kind: str  # an input's type, or "select"
    name: str
    value: str = ""
    on: bool = False  # a checkbox or radio button ticked
    disabled: bool = False
    id: str | None = None
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, label, disabled


@dataclass
class Form:
    """A form of a page, found by its action."""

    action: str
    method: str
    controls: list[Control] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # id -> label text (the page's)

    def select(self, name: str, label: str) -> None:
        """Choose the option labelled ``label`` in the dropdown ``name``, as a person would."""
        control = self._named(name, "select")
        offered = [value for value, text, off in control.options if text == label and not off]
        assert offered, f"{name}: no option {label!r} to choose in {control.options}"
        control.value = offered[0]

    def tick(self, label: str) -> None:
        """Tick the checkbox or radio button labelled ``label`` (a radio unticks the others)."""
        found = [c for c in self.controls if c.id and self.labels.get(c.id) == label]
        assert found, f"no box labelled {label!r} in {sorted(self.labels.values())}"
        box = found[0]
        assert not box.disabled, f"{label!r} cannot be ticked"
        if box.kind == "radio":
            for other in self.controls:
                other.on = other.on and other.name != box.name
        box.on = True

    def type(self, name: str, text: str) -> None:
        """Type ``text`` in the text box ``name``."""
        self._named(name, "text").value = text

    def data(self) -> dict[str, list[str]]:
        """What the browser sends when the form is submitted."""
        sent: dict[str, list[str]] = {}
        for c in self.controls:
            if c.disabled or (c.kind in ("checkbox", "radio") and not c.on):
                continue
            sent.setdefault(c.name, []).append(c.value)
        return sent

    def _named(self, name: str, kind: str) -> Control:
        found = [c for c in self.controls if c.name == name and (c.kind == kind or kind == "text")]
        assert found, f"no {kind} named {name!r} in the form {self.action}"
        return found[0]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}
        self._form: Form | None = None
        self._select: Control | None = None
        self._option: list | None = None
        self._label: list | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "label" and a.get("for"):
            self._label = [a["for"], ""]
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value", ""), "", "disabled" in a, "selected" in a]
        elif self._form is None or "form" in a or not a.get("name"):
            return  # a control of another form (form="...") or without a name sends nothing
        elif tag == "input":
            control = Control(a.get("type", "text"), a["name"], a.get("value", ""),
                              "checked" in a, "disabled" in a, a.get("id"))  # fmt: skip
            self._form.controls.append(control)
        elif tag == "select":
            self._select = Control("select", a["name"], disabled="disabled" in a, id=a.get("id"))
            self._form.controls.append(self._select)

    def handle_data(self, data: str) -> None:
        for open_element in (self._option, self._label):
            if open_element is not None:
                open_element[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label[0]] = " ".join(self._label[1].split())
            self._label = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, text, off, chosen = self._option
            self._select.options.append((value, " ".join(text.split()), off))
            if chosen:
                self._select.value = value
            self._option = None
        elif tag == "select" and self._select is not None:
            enabled = [value for value, _, off in self._select.options if not off]
            chosen = any(value == self._select.value for value, _, _ in self._select.options)
            if not chosen and enabled:  # nothing selected: a browser sends the first option
                self._select.value = enabled[0]
            self._select = None


def form_of(page: str, action: str) -> Form:
    """The form of ``page`` whose action is ``action`` (the path, query and all)."""
    reader = _Reader()
    reader.feed(page)
    reader.close()
    found = [f for f in reader.forms if f.action == action]
    assert found, f"no form to {action} on the page: {[f.action for f in reader.forms]}"
    form = found[0]
    form.labels = reader.labels
    return form
