"""What a browser would send back for a rendered form, read from the page's HTML.

Tests that post a form "as the merchandiser does" take the values from here and
not from the model, so a value the page shows wrongly is posted back wrongly.
"""

from html.parser import HTMLParser


class _FormValues(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option: dict[str, str | None] | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == self.form_id:
            self.in_form = True
            return
        if not self.in_form:
            return
        name = attributes.get("name")
        disabled = "disabled" in attributes
        if tag == "input" and name and not disabled:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.values.append((name, attributes.get("value") or default))
        elif tag == "select":
            self._select = name if name and not disabled else None
            self._select_first = None
            # A multiple select with nothing marked sends nothing.
            self._select_chosen = "multiple" in attributes
        elif tag == "option" and self._select is not None:
            self._option = attributes
            self._option_text = ""
        elif tag == "textarea" and name and not disabled:
            self._textarea = name
            self._textarea_text = ""

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "option" and self._option is not None and self._select is not None:
            value = self._option.get("value")
            value = self._option_text.strip() if value is None else value
            if self._select_first is None:
                self._select_first = value
            if "selected" in self._option:
                self.values.append((self._select, value))
                self._select_chosen = True
            self._option = None
        elif tag == "select" and self._select is not None:
            # A single select with nothing marked sends its first option.
            if not self._select_chosen and self._select_first is not None:
                self.values.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop one newline right after <textarea>.
            text = self._textarea_text
            self.values.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_values(html: str, *, form_id: str) -> dict[str, list[str]]:
    """What a browser submits for the form ``form_id`` as rendered: each name's values."""
    parser = _FormValues(form_id)
    parser.feed(html)
    parser.close()
    values: dict[str, list[str]] = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value)
    return values
