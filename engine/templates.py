"""Sandboxed Jinja2 templates for action parameters (subjects, bodies, webhook payloads).

- Rendering uses jinja2's ImmutableSandboxedEnvironment: no access to ``_``-prefixed attributes, no
  calling of methods that change lists/dicts, bounded ranges; unsafe access raises TemplateError.
- Deterministic: no clock, no randomness (``lipsum`` and the ``random`` filter are removed); the time is
  the ``now`` value in the context.
- Missing data renders as an empty string, also through attribute chains and arithmetic
  (``{{ contact.company.name }}``, ``{{ run.vars.total + 1 }}``).
- Plain strings are not escaped; ``render_html`` (and ``render_params`` under HTML keys) autoescapes.
- Templates are compiled once per text and kept in a bounded LRU cache.
- Bounded work: each render has a budget of loop iterations and calls (MAX_STEPS) and of work on large
  inputs (MAX_WORK); every string it builds is at most MAX_STRING characters, everything it outputs
  (captured blocks and macro results included) at most MAX_PRODUCED characters, its result at most
  MAX_OUTPUT_CHARS; format widths and precisions are at most MAX_FORMAT_WIDTH; integers at most
  MAX_INT_BITS bits. Growth is checked before the operation where it can be foreseen (repetition,
  replace, padding, join, formatting, powers), so a bomb fails with a TemplateError within milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache, wraps
from string import Formatter
from types import TracebackType
from typing import Any, Final, NamedTuple, NoReturn, cast

import jinja2
from jinja2 import nodes as jinja_nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_eval_context

from engine import affinity as content
from engine.conditions.dates import local_time
from engine.conditions.paths import RATES
from engine.conditions.values import as_number, as_time

CACHE_SIZE: Final = 1024
MAX_OUTPUT_ITEMS: Final = 100_000  # longest string/list that '*' may build, widest padding
MAX_POWER: Final = 1_000
MAX_TEMPLATE_CHARS: Final = 64 * 1024
MAX_OUTPUT_CHARS: Final = 256 * 1024  # a render's result
MAX_STRING: Final = 256 * 1024  # any string a template builds
MAX_PRODUCED: Final = 1024 * 1024  # all output of a render, captured blocks and macro results included
MAX_STEPS: Final = 20_000  # loop iterations plus calls, per render
MAX_WORK: Final = 2_000_000  # items and characters handed to filters and methods, per render
MAX_FORMAT_WIDTH: Final = 1_000
MAX_INT_BITS: Final = 65_536
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


class _Budget:
    """What one render may still spend; exceeding it raises SecurityError."""

    __slots__ = ("produced", "steps", "work")

    def __init__(self) -> None:
        self.steps = self.work = self.produced = 0

    def step(self, work: int = 0) -> None:
        self.steps += 1
        self.work += work
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template ran over {MAX_STEPS} loop iterations and calls")
        if self.work > MAX_WORK:
            raise SecurityError(f"the template handled over {MAX_WORK} items and characters")

    def produce(self, chars: int) -> None:
        self.produced += chars
        if self.produced > MAX_PRODUCED:
            raise SecurityError(f"the template produced over {MAX_PRODUCED} characters")


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _spend(work: int = 0) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(work)


def _size(value: Any) -> int:
    """The work a filter's input stands for: its items, and the characters of the strings among them (a
    list of many references to one long string is cheap to build and dear to sort or lower-case)."""
    try:
        if isinstance(value, (list, tuple)):
            return _items_and_chars(value, len(value))
        if isinstance(value, dict):
            return _items_and_chars((*value.keys(), *value.values()), len(value))
        return len(value) if isinstance(value, (str, range)) else 0
    except OverflowError:
        return MAX_WORK + 1


def _items_and_chars(items: Iterable[Any], count: int) -> int:
    total = count
    for item in items:
        if isinstance(item, str):
            total += len(item)
            if total > MAX_WORK:
                break
    return total


def _check_string(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise SecurityError(f"a string of {len(value)} characters (at most {MAX_STRING})")
    return value


def _check_growth(size: int) -> None:
    if size > MAX_STRING:
        raise SecurityError(f"the result would have {size} characters (at most {MAX_STRING})")


def _check_int(value: Any) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"an integer over {MAX_INT_BITS} bits")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _check_percent_format(fmt: str) -> None:
    """Refuse '*' and over-wide widths and precisions in a printf-style format."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise SecurityError("'*' widths are not allowed in % formatting")
            if number and int(number) > MAX_FORMAT_WIDTH:
                raise SecurityError(f"format width or precision {number} is over {MAX_FORMAT_WIDTH}")


def _check_brace_format(fmt: str) -> None:
    """Refuse over-wide widths and precisions (and nested fields) in a str.format format."""
    try:
        fields = list(Formatter().parse(fmt))
    except ValueError as exc:
        raise SecurityError(f"bad format string: {exc}") from None
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("nested fields in format specs are not allowed")
        for number in _DIGITS.findall(spec):
            if int(number) > MAX_FORMAT_WIDTH:
                raise SecurityError(f"format width or precision {number} is over {MAX_FORMAT_WIDTH}")


def _check_str_method(
    target: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a str method call whose result would be too large; returns the arguments to call with."""
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _check_growth(_replaced_size(target, args[0], args[1], args[2] if len(args) > 2 else -1))
    elif name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        _check_growth(args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int):
            _check_growth(len(target) + target.count("\t") * tabsize)
    elif name == "join" and args:
        items = _listed(args[0])
        _check_growth(_joined_size(items, target))
        return (items,)
    return args


def _replaced_size(text: str, old: str, new: str, count: Any) -> int:
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _listed(items: Any) -> list[Any]:
    listed: list[Any] = []
    for item in items:
        listed.append(item)
        if len(listed) > MAX_OUTPUT_ITEMS:
            raise SecurityError(f"over {MAX_OUTPUT_ITEMS} items")
    return listed


def _joined_size(items: list[Any], separator: str) -> int:
    return sum(len(item) if isinstance(item, str) else 24 for item in items) + len(separator) * len(items)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, made strict (unsafe access raises at once) and bounded (operators, calls, formats)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to {attribute!r} of a {type(obj).__name__!r} value is not allowed")

    def call_binop(self, context: jinja2.runtime.Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            for size, count in ((left, right), (right, left)):
                repeats = isinstance(size, (str, list, tuple)) and isinstance(count, int)
                if repeats and len(size) * count > MAX_OUTPUT_ITEMS:
                    raise SecurityError("repetition result too large")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError(f"an integer over {MAX_INT_BITS} bits")
        if operator_ == "**" and isinstance(right, (int, float)):
            if abs(right) > MAX_POWER:
                raise SecurityError("exponent too large")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() * abs(right) > MAX_INT_BITS:
                raise SecurityError(f"an integer over {MAX_INT_BITS} bits")
        if operator_ == "%" and isinstance(left, str):
            _check_percent_format(left)
        sequences = isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple))
        if operator_ == "+" and sequences:
            _check_growth(len(left) + len(right))
        return super().call_binop(context, operator_, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_brace_format(value.__self__)
        return wrapped

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__self__", None)
        _spend(_size(target) + sum(_size(arg) for arg in args))
        if isinstance(target, str):
            args = _check_str_method(target, getattr(__obj, "__name__", ""), args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        _check_int(result)
        return _check_string(result)


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


def _precheck_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Refuse a filter whose result would be too large; returns the value to filter."""
    if not isinstance(value, str):
        if name == "join" and isinstance(value, Iterable):
            value = _listed(value)
            separator = args[0] if args and isinstance(args[0], str) else kwargs.get("d", "")
            _check_growth(_joined_size(value, separator if isinstance(separator, str) else ""))
        return value
    if name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        _check_growth(_replaced_size(value, old, new, args[2] if len(args) > 2 else kwargs.get("count")))
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        step = width if isinstance(width, int) else len(str(width))
        _check_growth(len(value) + (value.count("\n") + 1) * step)
    elif name == "wordwrap":
        wrapstring = args[3] if len(args) > 3 else kwargs.get("wrapstring") or "\n"
        _check_growth(len(value) * (1 + len(str(wrapstring))))
    elif name == "format":
        _check_percent_format(value)
    return value


def _bounded_filter(name: str, filter_: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, charged to the render's budget, with its result size checked (before, when foreseeable)."""
    at = 1 if _PassArg.from_obj(filter_) is not None else 0

    @wraps(filter_)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[at] if len(args) > at else None
        _spend(_size(value))
        checked = _precheck_filter(name, value, args[at + 1 :], kwargs)
        if checked is not value:
            args = (*args[:at], checked, *args[at + 1 :])
        return _check_string(filter_(*args, **kwargs))

    return bounded


def _bounded_iter(items: Any, chars: int = 0) -> Iterator[Any]:
    """A loop's items, each charged to the render's budget as one step and the `chars` of literal text
    its body outputs."""
    if isinstance(items, jinja2.Undefined):
        return
    budget = _BUDGET.get()
    for item in items:
        if budget is not None:
            budget.step()
            budget.produce(chars)
        yield item


def _charge(chars: int) -> str:
    """Charged once per loop iteration or macro call: the literal text its body outputs."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.produce(chars)
    return ""


@pass_eval_context
def _bounded_concat(eval_ctx: jinja2.nodes.EvalContext, *parts: Any) -> str:
    """The `~` operator, with its result's size checked."""
    joined: str = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    return str(_check_string(joined))


def _finalize(value: Any) -> Any:
    """Every `{{ ... }}` output is charged to the render's budget."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.produce(len(value) if type(value) is str else 32)
    return value


def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, undefined=_Missing, keep_trailing_newline=True, finalize=_finalize)
    for nondeterministic in ("lipsum",):
        env.globals.pop(nondeterministic, None)
    env.filters.pop("random", None)
    env.filters["center"] = _bounded(env.filters["center"], 1)
    env.filters["indent"] = _bounded(env.filters["indent"], 1)
    env.filters["default"] = env.filters["d"] = _default
    env.filters["datetime"] = _time_formatter("%Y-%m-%d %H:%M")
    env.filters["date"] = _time_formatter("%Y-%m-%d")
    env.filters["money"] = _money
    for name, filter_ in list(env.filters.items()):
        env.filters[name] = _bounded_filter(name, filter_)
    env.globals.update({_LOOP: _bounded_iter, _CHARGE: _charge, _CONCAT: _bounded_concat})
    return env


# Names of the guards _insert_guards adds (a template calling them itself only spends its own budget).
_LOOP, _CHARGE, _CONCAT = "_sy_bounded_loop", "_sy_charge_output", "_sy_bounded_concat"


_TEXT: Final = _environment(autoescape=False)
_HTML: Final = _environment(autoescape=True)


# -- compile, check, render --------------------------------------------------------------------------


def _has_markup(template: str) -> bool:
    return "{" in template


class _Compiled(NamedTuple):
    template: jinja2.Template
    # Its globals (a ChainMap of the template's and the environment's) as one dict: jinja's `render` merges
    # them into every context key by key through ChainMap's Python-level lookups, several µs per render.
    globals: dict[str, Any]


@lru_cache(maxsize=CACHE_SIZE)
def _compiled(template: str, html: bool) -> _Compiled:
    env = _HTML if html else _TEXT
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a template of {len(template)} characters (at most {MAX_TEMPLATE_CHARS})")
    try:
        source_tree = env.parse(template)
        _refuse_private_names(source_tree)
        _insert_guards(source_tree)
        compiled = env.from_string(source_tree)
        return _Compiled(compiled, dict(compiled.globals))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "invalid template", exc.lineno) from None


def _guard_call(name: str, *args: jinja_nodes.Expr) -> jinja_nodes.Call:
    return jinja_nodes.Call(jinja_nodes.Name(name, "load"), list(args), [], None, None)


def _insert_guards(tree: jinja_nodes.Template) -> None:
    """Every loop's items counted, every loop iteration and macro call charged for its literal text, and
    every `~` bounded."""
    for loop in list(tree.find_all(jinja_nodes.For)):
        if loop.recursive:
            raise TemplateError("recursive loops are not allowed", loop.lineno)
        chars = jinja_nodes.Const(_literal_chars(loop.body))
        loop.iter = _guard_call(_LOOP, cast(jinja_nodes.Expr, loop.iter), chars)
    blocks: list[jinja_nodes.Macro | jinja_nodes.CallBlock] = [
        *tree.find_all(jinja_nodes.Macro),
        *tree.find_all(jinja_nodes.CallBlock),
    ]
    for block in blocks:
        charge = jinja_nodes.Output([_guard_call(_CHARGE, jinja_nodes.Const(_literal_chars(block.body)))])
        block.body = [charge, *block.body]
    for concat in list(tree.find_all(jinja_nodes.Concat)):
        concat.nodes = [_guard_call(_CONCAT, *concat.nodes)]


def _literal_chars(body: list[jinja_nodes.Node]) -> int:
    return sum(len(str(data.data)) for part in body for data in part.find_all(jinja_nodes.TemplateData))


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


def _render(compiled: _Compiled, context: Mapping[str, Any]) -> str:
    token = _BUDGET.set(_Budget())
    try:
        out = _run(compiled, context)
    except TemplateError:
        raise
    except Exception as exc:  # a template is user code: any failure becomes a TemplateError
        _raise_render_error(exc)
    finally:
        _BUDGET.reset(token)
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"not allowed: the output has {len(out)} characters (at most {MAX_OUTPUT_CHARS})")
    return out


def _run(compiled: _Compiled, context: Mapping[str, Any]) -> str:
    """What `Template.render(context)` does, with the globals merged from the flat copy: a shared context is
    the dict given, built fresh here (the context's names win over the globals', as in `render`)."""
    template = compiled.template
    env = template.environment
    jinja_context = template.new_context({**compiled.globals, **context}, shared=True)
    try:
        return str(env.concat(template.root_render_func(jinja_context)))
    except Exception:
        env.handle_exception()  # raises it again, its traceback pointing into the template (the line)


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


class _Affinities(dict[str, float]):
    """Decayed affinities by topic; an unknown topic reads 0.0, as in conditions."""

    def __missing__(self, key: object) -> float:
        return 0.0


def _top_topics(affinity: Any) -> Callable[..., list[str]]:
    def top_topics(n: Any = content.DEFAULT_TOP) -> list[str]:
        """The contact's ``n`` topics of highest affinity, best first."""
        if type(n) is not int:
            return []
        return content.top_topics(affinity, min(n, content.MAX_TOPICS))

    return top_topics


# What an action whose sink renders a template file carries of the profile (``profile`` in the action):
# enough for {{ contact.first_name }}, tags, scores and affinities; not the per-type counts and times.
SNAPSHOT_FIELDS: Final = ("attrs", "tags", "scores", "affinity", "first_seen", "last_seen")


def profile_snapshot(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``profile`` a sink renders an action's template file with (sinks/template_files.py)."""
    return {field: profile[field] for field in SNAPSHOT_FIELDS if field in profile}


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
    rates; the profile's own fields win over attributes of the same name. ``contact.affinity.<topic>`` is
    the content affinity decayed to ``now`` (0 for unknown topics) and ``top_topics(n)`` the contact's
    ``n`` best topics (engine/affinity.py). ``event`` has its properties flattened on top
    ({{ event.url }}) as well as ``event.properties``.
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
    affinity = profile.get("affinity")
    contact["affinity"] = _Affinities(content.scores(affinity, now))
    event_view: dict[str, Any] = {}
    if event is not None:
        properties = event.get("properties")
        if isinstance(properties, Mapping):
            event_view.update(properties)
        event_view.update({field: event[field] for field in EVENT_FIELDS if field in event})
    if contact_id is None and event is not None:
        contact_id = event.get("contact_id")
    contact["id"] = contact_id if contact_id is not None else attrs.get("id")
    return {
        "contact": contact,
        "event": event_view,
        "run": dict(run) if run else {},
        "now": now,
        "top_topics": _top_topics(affinity),
    }


def _engagement_rate(counts: Mapping[str, Any], numerator: str, denominator: str) -> float:
    below = counts.get(denominator)
    above = counts.get(numerator, 0)
    if not isinstance(below, int) or isinstance(below, bool) or below <= 0:
        return 0.0
    if not isinstance(above, int) or isinstance(above, bool):
        return 0.0
    return min(1.0, above / below)
