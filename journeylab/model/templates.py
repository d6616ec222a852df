"""Message templates: Jinja2's sandbox over the user's profile and the triggering event.

Every driver renders a message through :func:`render_content` (the engine core calls it when it
sends), so the runtime's outbox, the reference driver and :func:`journeylab.preview.preview`
show the same text. A template sees two names:

* ``profile``: the user's profile properties at send time (missing and NaN values are absent);
* ``event``: the properties of the event that entered the user into the journey (an Action
  entry's event, an Inaction entry's first event; empty for scheduled, date-time, list and
  journey-trigger entries).

Missing values are empty (``{{ profile.city }}`` prints nothing, ``profile.a.b`` too) and
``default`` fills them: ``{{ profile.first_name | default("there") }}``. Jinja's built-in
filters (``upper``, ``title``, ``round``, ``truncate``...) and tests work; the sandbox refuses
access to Python internals.

**Backward compatibility.** The older placeholder form ``{{property|default text}}`` keeps its
meaning: a placeholder whose expression is a bare property name (letters, digits, ``_``,
spaces, ``-`` and ``.``, not starting with ``profile`` or ``event``, not a name the template
sets itself with ``{% set %}`` or ``{% for %}``), optionally followed by
``|`` and a literal default, reads that profile property and prints the default text when it
is missing. Filters therefore need the explicit form: ``{{ profile.first_name | upper }}``.

A template that fails while rendering (a filter given the wrong type, a sandbox refusal)
renders its field as the empty string: a send never fails for its content, and
:func:`journeylab.validate.validate` reports syntax errors before publishing.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TemplateError", "compile_template", "render_content", "render_text", "template_reads", "check_template"]

#: the legacy placeholder ``{{property|default}}`` (no braces or pipe in the name)
_LEGACY = re.compile(r"\{\{\s*([A-Za-z_][\w .\-]*?)\s*(?:\|\s*([^{}|]*?)\s*)?\}\}")
_RESERVED = re.compile(r"(profile|event)\b")


class TemplateError(ValueError):
    """A message template that does not parse: ``message`` says what, ``lineno`` where."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


def _legacy(name: str, default: str | None) -> str:
    """The Jinja expression equivalent to a legacy placeholder."""
    return "{{ _legacy(profile, " + repr(name) + ", " + repr(default or "") + ") }}"


def _translate(text: str) -> str:
    """``text`` with its legacy placeholders rewritten to Jinja expressions.

    >>> _translate("Hi {{first_name|there}} {{ profile.x }}")
    "Hi {{ _legacy(profile, 'first_name', 'there') }} {{ profile.x }}"
    """

    local = _assigned(text) if "{%" in text else frozenset()

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if _RESERVED.match(name) or name in local:
            return m.group(0)
        return _legacy(name, m.group(2))

    return _LEGACY.sub(sub, text)


def _assigned(text: str) -> frozenset[str]:
    """Names a template assigns itself (``{% set x = ... %}``, ``{% for x in ... %}``): a bare
    ``{{ x }}`` prints them, not a profile property."""
    from jinja2 import TemplateSyntaxError, nodes

    try:
        ast = _env().parse(text)
    except TemplateSyntaxError:
        return frozenset()
    return frozenset(n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param"))


def _legacy_value(profile: Mapping[str, Any], name: str, default: str) -> str:
    v = profile.get(name)
    return default if v is None else str(v)


@functools.cache
def _env() -> Any:
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals = {"_legacy": _legacy_value}
    return env


@functools.lru_cache(maxsize=4096)
def compile_template(text: str) -> Any:
    """The compiled Jinja template of a message text (legacy placeholders translated).

    Raises
    ------
    TemplateError
        The text does not parse; the message comes from Jinja, the line is 1-based.

    Examples
    --------
    >>> compile_template("Hi {{ profile.first_name | default('there') }}").render(profile={}, event={})
    'Hi there'
    >>> compile_template("Hi {{ profile.first_name ")
    Traceback (most recent call last):
    ...
    journeylab.model.templates.TemplateError: unexpected end of template, expected 'end of print statement' (line 1)
    """
    from jinja2 import TemplateSyntaxError

    try:
        return _env().from_string(_translate(text))
    except TemplateSyntaxError as e:
        raise TemplateError(f"{(e.message or 'syntax error').rstrip('.')} (line {e.lineno})", e.lineno) from None


def check_template(text: str) -> str | None:
    """Why ``text`` is not a valid template, or None.

    >>> check_template("{{ event.item }}") is None, check_template("{% if %}")
    (True, "Expected an expression, got 'end of statement block' (line 1)")
    """
    if "{" not in text:
        return None
    try:
        compile_template(text)
    except TemplateError as e:
        return e.message
    return None


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping without missing values (None, NaN, pandas' NA): they read as undefined."""
    out = {}
    for k, v in values.items():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        try:
            if v != v:  # numpy / pandas missing values
                continue
        except (TypeError, ValueError):
            pass
        out[k] = v
    return out


def render_text(text: str, profile: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> str:
    """One message field rendered for a user (see the module docstring).

    Examples
    --------
    >>> render_text("Hi {{first_name|there}}!", {})
    'Hi there!'
    >>> render_text("{{ profile.first_name | default('there') | upper }}, {{ event.item }} is waiting",
    ...             {"first_name": "Ana"}, {"item": "shoes"})
    'ANA, shoes is waiting'
    >>> render_text("{{ profile.age + 1 }}", {"age": "x"})  # a render error: the field is empty
    ''
    """
    if "{" not in text:
        return text
    try:
        tpl = compile_template(text)
    except TemplateError:
        return ""
    try:
        return str(tpl.render(profile=_clean(profile), event=_clean(event or {})))
    except Exception:  # noqa: BLE001 - any failure of user code in the sandbox renders nothing
        return ""


def render_content(
    content: Mapping[str, str], profile: Mapping[str, Any], event: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Every field of a message's content rendered (:func:`render_text`).

    >>> render_content({"title": "Hi {{first_name}}", "url": "https://x"}, {"first_name": "Ana"})
    {'title': 'Hi Ana', 'url': 'https://x'}
    """
    return {k: render_text(v, profile, event) for k, v in content.items()}


@functools.lru_cache(maxsize=4096)
def template_reads(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """What a template reads: ``(profile properties, event properties, other names)``.

    ``other names`` are top-level variables besides ``profile`` and ``event`` in Jinja
    expressions (they are always empty; a bare ``{{ name }}`` is a legacy profile placeholder).
    A template that does not parse reads nothing.

    >>> [sorted(x) for x in template_reads("{{first_name|there}} {{ profile['Plan Tier'] }} {{ event.item }} {{ 'x' ~ cart }}")]
    [['Plan Tier', 'first_name'], ['item'], ['cart']]
    """
    if "{" not in text:
        return frozenset(), frozenset(), frozenset()
    from jinja2 import TemplateSyntaxError, nodes

    try:
        ast = _env().parse(_translate(text))
    except TemplateSyntaxError:
        return frozenset(), frozenset(), frozenset()
    found: dict[str, set[str]] = {"profile": set(), "event": set()}
    for n in ast.find_all(nodes.Getattr):
        if isinstance(n.node, nodes.Name) and n.node.name in found:
            found[n.node.name].add(n.attr)
    for n in ast.find_all(nodes.Getitem):
        if (
            isinstance(n.node, nodes.Name)
            and n.node.name in found
            and isinstance(n.arg, nodes.Const)
            and isinstance(n.arg.value, str)
        ):
            found[n.node.name].add(n.arg.value)
    for n in ast.find_all(nodes.Call):
        if (
            isinstance(n.node, nodes.Name)
            and n.node.name == "_legacy"
            and len(n.args) > 1
            and isinstance(n.args[1], nodes.Const)
        ):
            found["profile"].add(str(n.args[1].value))
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    other = (
        {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
        - assigned
        - {"profile", "event", "_legacy", "loop"}
    )
    return frozenset(found["profile"]), frozenset(found["event"]), frozenset(other)
