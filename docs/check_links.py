"""Check every link of the built documentation site offline.

    python docs/check_links.py docs/_build/html

For each HTML page: every ``href`` and ``src`` that points into the site must name a file
that exists, and a ``#fragment`` must be an ``id`` (or ``name``) in the page it points to.
Links to other sites are counted and listed, not fetched (the check runs without a network).
Prints the number of pages, local links and external links; exit status 1 with every broken
link when there is one.
"""

from __future__ import annotations

import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key] or "")
        for key in ("href", "src"):
            v = a.get(key)
            if v is not None and not (tag == "link" and a.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append(v)


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def main(root: str) -> int:
    site = Path(root).resolve()
    # the site's pages (the theme's _static/ also holds Jinja templates named *.html)
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    if not pages:
        print(f"no HTML pages under {site}", file=sys.stderr)
        return 1
    parsed = {p: parse(p) for p in pages}
    broken: list[str] = []
    external: Counter[str] = Counter()
    local = 0
    for page, info in parsed.items():
        for link in info.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https"):
                external[parts.netloc] += 1
                continue
            if parts.scheme in ("mailto", "data", "javascript") or link.startswith("//"):
                continue
            local += 1
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no id {parts.fragment!r} there)")
    print(
        f"{len(pages)} pages, {local} local links checked, {sum(external.values())} links to other sites "
        f"(not fetched: {', '.join(f'{h} ×{n}' for h, n in external.most_common())})"
    )
    for b in broken:
        print("BROKEN", b)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html"))
