"""Reading a page's static files as text, for the tests that hold a page to its catalogues:
the keys in index.html's data-i18n attributes and app.js's t() calls, test ids, stray text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

# attributes a browser shows or reads aloud: in index.html they may only come from data-i18n-attr
VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "label"}
BUTTON_INPUTS = {"button", "submit", "reset"}  # the input types that show their value


def script_without_comments(app: Path) -> str:
    text = app.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"(?m)(^|[^:\\])//.*$", r"\1", text)


def script_keys(app: Path) -> tuple[set[str], set[str], set[str]]:
    """The t() calls of app.js: literal keys, key prefixes ("error." + code), other arguments."""
    script = script_without_comments(app)
    literal, prefixes, indirect = set(), set(), set()
    for match in re.finditer(r"(?<![\w.$])t\(\s*", script):
        if script[: match.start()].endswith("function "):
            continue
        rest = script[match.end() :]
        if found := re.match(r'"([^"\\]+)"\s*\+', rest):
            prefixes.add(found.group(1))
        elif found := re.match(r'"([^"\\]+)"\s*[,)]', rest):
            literal.add(found.group(1))
        else:
            argument = re.match(r"[^,)]*", rest)
            indirect.add(argument.group(0).strip() if argument else rest[:40])
    return literal, prefixes, indirect


def parse_page(index: Path) -> Page:
    parser = Page()
    parser.feed(index.read_text(encoding="utf-8"))
    parser.close()
    return parser


class Page(HTMLParser):
    """Collects i18n keys, test ids, stray text and literal visible attributes from index.html."""

    VOID = {"meta", "link", "img", "input", "br", "hr", "source", "area", "base", "col", "embed", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, has data-i18n)
        self.keys: set[str] = set()
        self.test_ids: set[str] = set()
        self.stray_text: list[str] = []
        self.literal_attributes: list[str] = []
        self.i18n_with_children: list[str] = []
        self.with_i18n_attr: dict[str, set[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if self.stack and self.stack[-1][1]:
            self.i18n_with_children.append(f"<{tag}> inside data-i18n element <{self.stack[-1][0]}>")
        translated: set[str] = set()
        if "data-i18n" in attributes:
            self.keys.add(attributes["data-i18n"])
        for pair in filter(None, attributes.get("data-i18n-attr", "").split(";")):
            attribute, key = (part.strip() for part in pair.split(":"))
            translated.add(attribute)
            self.keys.add(key)
        if "data-testid" in attributes:
            self.test_ids.add(attributes["data-testid"])
        visible = VISIBLE_ATTRIBUTES | (
            {"value"} if tag == "input" and attributes.get("type") in BUTTON_INPUTS else set()
        )
        for name in (visible & attributes.keys()) - translated:
            self.literal_attributes.append(f"<{tag} {name}={attributes[name]!r}>")
        if tag not in self.VOID:
            self.stack.append((tag, "data-i18n" in attributes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        tags = [tag for tag, _ in self.stack]
        if "script" in tags or "style" in tags:
            return
        if not any(has_key for _, has_key in self.stack):
            self.stray_text.append(f"{data.strip()!r} in <{'> <'.join(tags)}>")
