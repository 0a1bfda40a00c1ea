"""Sandboxed Jinja2 templates for action parameters (subjects, bodies, webhook payloads).

- Rendering uses jinja2's ImmutableSandboxedEnvironment: no access to ``_``-prefixed attributes, no
  calling of methods that change lists/dicts, bounded ranges; unsafe access raises TemplateError.
- Deterministic: no clock, no randomness (``lipsum`` and the ``random`` filter are removed); the time is
  the ``now`` value in the context.
- Missing data renders as an empty string, also through attribute chains and arithmetic
  (``{{ contact.company.name }}``, ``{{ run.vars.total + 1 }}``).
- Plain strings are not escaped; ``render_html`` (and ``render_params`` under HTML keys) autoescapes.
- Templates are compiled once per text and kept in a bounded LRU cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from types import TracebackType
from typing import Any, Final, NoReturn

import jinja2
from jinja2 import nodes as jinja_nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.conditions.dates import local_time
from engine.conditions.paths import RATES
from engine.conditions.values import as_number, as_time

CACHE_SIZE: Final = 1024
MAX_OUTPUT_ITEMS: Final = 100_000  # longest string/list that '*' may build, widest padding
MAX_POWER: Final = 1_000
HTML_KEYS: Final = frozenset({"html", "html_body", "body_html"})
CURRENCY_SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
PROFILE_FIELDS: Final = ("tags", "scores", "counts", "last_by_type", "first_seen", "last_seen")
EVENT_FIELDS: Final = ("event_id", "contact_id", "type", "ts", "properties")


class TemplateError(ValueError):
    """A template that does not compile, or that failed or was refused while rendering."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class _Missing(jinja2.ChainableUndefined):
    """Missing data: renders as '', chains through attributes, and absorbs arithmetic."""

    __slots__ = ()

    def _absorb(self, *_: Any) -> _Missing:
        return self

    def _never(self, *_: Any) -> bool:
        return False

    # jinja2 types these as raising (Never); here they deliberately return.
    __add__ = __radd__ = __sub__ = __rsub__ = _absorb  # type: ignore[assignment]
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _absorb  # type: ignore[assignment]
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _absorb  # type: ignore[assignment]
    __pow__ = __rpow__ = __neg__ = __pos__ = _absorb  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _never  # type: ignore[assignment]


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, made strict (unsafe access raises at once) and bounded ('*', '**', '%')."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to {attribute!r} of a {type(obj).__name__!r} value is not allowed")

    def call_binop(self, context: jinja2.runtime.Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            for size, count in ((left, right), (right, left)):
                repeats = isinstance(size, (str, list, tuple)) and isinstance(count, int)
                if repeats and len(size) * count > MAX_OUTPUT_ITEMS:
                    raise SecurityError("repetition result too large")
        if operator_ == "**" and isinstance(right, (int, float)) and abs(right) > MAX_POWER:
            raise SecurityError("exponent too large")
        if operator_ == "%" and isinstance(left, str) and "*" in left:
            raise SecurityError("'*' widths are not allowed in % formatting")
        return super().call_binop(context, operator_, left, right)


# -- filters ---------------------------------------------------------------------------------------


def _default(value: Any, fallback: Any = "", boolean: bool = False) -> Any:
    """``value`` unless it is missing or null (or, with boolean=true, empty/false)."""
    if value is None or isinstance(value, jinja2.Undefined) or (boolean and not value):
        return fallback
    return value


def _time_formatter(default_format: str) -> Callable[..., str]:
    def format_time(value: Any, fmt: str = default_format, tz: Any = None) -> str:
        """Epoch ms or ISO text formatted with strftime, in ``tz`` (an IANA name) or UTC."""
        if isinstance(value, jinja2.Undefined):
            return ""
        ms = as_time(value)
        if ms is None:
            return ""
        wall = local_time(ms, tz if isinstance(tz, str) else None)
        if wall is None or not isinstance(fmt, str):
            return ""
        try:
            return wall.strftime(fmt)
        except (ValueError, OverflowError):
            return ""

    return format_time


def _money(value: Any, currency: Any = "USD", places: Any = 2) -> str:
    """``1234.5 | money`` -> "$1,234.50", ``| money('EUR')`` -> "€1,234.50", other codes: "1,234.50 CHF"."""
    if isinstance(value, jinja2.Undefined):
        return ""
    number = as_number(value)
    if number is None or not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 6:
        return ""
    try:
        amount = Decimal(str(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    code = str(currency).upper() if isinstance(currency, str) else "USD"
    digits = f"{abs(amount):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def _bounded(filter_: Callable[..., Any], width_index: int) -> Callable[..., Any]:
    """A padding filter whose width argument is capped, so a template cannot allocate without limit."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > width_index and isinstance(args[width_index], int):
            args = (*args[:width_index], min(args[width_index], MAX_OUTPUT_ITEMS), *args[width_index + 1 :])
        if isinstance(kwargs.get("width"), int):
            kwargs["width"] = min(kwargs["width"], MAX_OUTPUT_ITEMS)
        return filter_(*args, **kwargs)

    return bounded


def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, undefined=_Missing, keep_trailing_newline=True)
    for nondeterministic in ("lipsum",):
        env.globals.pop(nondeterministic, None)
    env.filters.pop("random", None)
    env.filters["center"] = _bounded(env.filters["center"], 1)
    env.filters["indent"] = _bounded(env.filters["indent"], 1)
    env.filters["default"] = env.filters["d"] = _default
    env.filters["datetime"] = _time_formatter("%Y-%m-%d %H:%M")
    env.filters["date"] = _time_formatter("%Y-%m-%d")
    env.filters["money"] = _money
    return env


_TEXT: Final = _environment(autoescape=False)
_HTML: Final = _environment(autoescape=True)


# -- compile, check, render --------------------------------------------------------------------------


def _has_markup(template: str) -> bool:
    return "{" in template


@lru_cache(maxsize=CACHE_SIZE)
def _compiled(template: str, html: bool) -> jinja2.Template:
    env = _HTML if html else _TEXT
    try:
        source_tree = env.parse(template)
        _refuse_private_names(source_tree)
        return env.from_string(source_tree)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "invalid template", exc.lineno) from None


def _refuse_private_names(tree: jinja_nodes.Template) -> None:
    for node in tree.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        name: object = None
        if isinstance(node, jinja_nodes.Getattr):
            name = node.attr
        elif isinstance(node, jinja_nodes.Getitem) and isinstance(node.arg, jinja_nodes.Const):
            name = node.arg.value
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateError(f"names starting with '_' are not allowed: {name!r}", node.lineno)


def check_template(template: str) -> None:
    """Raise TemplateError (with the line) if ``template`` does not compile or names private attributes."""
    _compiled(template, False)


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` without escaping (subjects, SMS text, webhook fields)."""
    if not _has_markup(template):
        return template
    return _render(_compiled(template, False), context)


def render_html(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` with HTML autoescaping of every value (email HTML bodies)."""
    if not _has_markup(template):
        return template
    return _render(_compiled(template, True), context)


def render_params(params: Any, context: Mapping[str, Any], html_keys: frozenset[str] = HTML_KEYS) -> Any:
    """A copy of ``params`` with every string rendered; values under ``html_keys`` are HTML-escaped."""
    return _render_value(params, context, html_keys, False)


def _render_value(value: Any, context: Mapping[str, Any], html_keys: frozenset[str], html: bool) -> Any:
    if isinstance(value, str):
        return render_html(value, context) if html else render(value, context)
    if isinstance(value, Mapping):
        return {
            key: _render_value(item, context, html_keys, html or key in html_keys)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_render_value(item, context, html_keys, html) for item in value]
    return value


def _render(compiled: jinja2.Template, context: Mapping[str, Any]) -> str:
    try:
        return str(compiled.render(context))
    except TemplateError:
        raise
    except Exception as exc:  # a template is user code: any failure becomes a TemplateError
        _raise_render_error(exc)


def _raise_render_error(exc: Exception) -> NoReturn:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, SecurityError):
        message = f"not allowed: {message}"
    elif not isinstance(exc, jinja2.TemplateError):
        message = f"{type(exc).__name__}: {message}"
    raise TemplateError(message, _template_line(exc.__traceback__)) from None


def _template_line(trace: TracebackType | None) -> int | None:
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


# -- context ---------------------------------------------------------------------------------------


def template_context(
    profile: Mapping[str, Any] | None,
    event: Mapping[str, Any] | None,
    run: Mapping[str, Any] | None,
    now: int,
    contact_id: str | None = None,
) -> dict[str, Any]:
    """The context actions are rendered with: ``contact``, ``event``, ``run``, ``now``.

    ``contact`` has the profile's attrs flattened on top ({{ contact.first_name }}) plus ``id``, ``tags``,
    ``scores``, ``counts``, ``last_by_type``, ``first_seen``, ``last_seen``, ``attrs`` and the engagement
    rates; the profile's own fields win over attributes of the same name. ``event`` has its properties
    flattened on top ({{ event.url }}) as well as ``event.properties``.
    """
    profile = profile or {}
    attrs = profile.get("attrs")
    attrs = attrs if isinstance(attrs, Mapping) else {}
    counts = profile.get("counts")
    counts = counts if isinstance(counts, Mapping) else {}
    contact: dict[str, Any] = dict(attrs)
    for field in PROFILE_FIELDS:
        if field in profile:
            contact[field] = profile[field]
    contact["attrs"] = attrs
    for name, (numerator, denominator) in RATES.items():
        contact[name] = _engagement_rate(counts, numerator, denominator)
    event_view: dict[str, Any] = {}
    if event is not None:
        properties = event.get("properties")
        if isinstance(properties, Mapping):
            event_view.update(properties)
        event_view.update({field: event[field] for field in EVENT_FIELDS if field in event})
    if contact_id is None and event is not None:
        contact_id = event.get("contact_id")
    contact["id"] = contact_id if contact_id is not None else attrs.get("id")
    return {"contact": contact, "event": event_view, "run": dict(run) if run else {}, "now": now}


def _engagement_rate(counts: Mapping[str, Any], numerator: str, denominator: str) -> float:
    below = counts.get(denominator)
    above = counts.get(numerator, 0)
    if not isinstance(below, int) or isinstance(below, bool) or below <= 0:
        return 0.0
    if not isinstance(above, int) or isinstance(above, bool):
        return 0.0
    return min(1.0, above / below)
