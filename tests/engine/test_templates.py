"""Sandboxed templates: rendering, missing data, filters, sandbox escapes, syntax errors, params, context."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine import templates
from engine.templates import (
    TemplateError,
    check_template,
    render,
    render_html,
    render_params,
    template_context,
)
from tests.engine.conditions_fixtures import NOW, SAMPLE_PROFILE, make_event, ms

CONTEXT = template_context(
    SAMPLE_PROFILE,
    make_event("purchase", amount=1234.5, order_id="o-7", url="https://example.com/a?b=1"),
    {"vars": {"cart_id": "cart-9"}, "started_at": NOW},
    NOW,
)


# -- context ---------------------------------------------------------------------------------------------


def test_context_flattens_attrs_and_event_properties() -> None:
    contact = CONTEXT["contact"]
    assert contact["first_name"] == SAMPLE_PROFILE["attrs"]["first_name"]
    assert contact["tags"] == SAMPLE_PROFILE["tags"]
    assert contact["scores"] == SAMPLE_PROFILE["scores"]
    assert contact["attrs"] == SAMPLE_PROFILE["attrs"]
    assert contact["id"] == "c-1"
    assert contact["open_rate"] == pytest.approx(0.7)
    assert CONTEXT["event"]["amount"] == 1234.5
    assert CONTEXT["event"]["properties"]["order_id"] == "o-7"
    assert CONTEXT["event"]["type"] == "purchase"
    assert CONTEXT["run"]["vars"]["cart_id"] == "cart-9"
    assert CONTEXT["now"] == NOW


def test_context_profile_fields_win_and_missing_parts_are_empty() -> None:
    profile = dict(SAMPLE_PROFILE, attrs={"tags": "attr", "first_name": "B"})
    context = template_context(profile, None, None, NOW, contact_id="explicit")
    assert context["contact"]["tags"] == SAMPLE_PROFILE["tags"]
    assert context["contact"]["id"] == "explicit"
    assert context["event"] == {}
    assert context["run"] == {}
    assert render("[{{ event.type }}][{{ run.vars.cart_id }}]", context) == "[][]"
    assert template_context(None, None, None, 0)["contact"]["open_rate"] == 0.0


# -- rendering -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {{ contact.first_name }}!", "Hi Ada!"),
        ("{{ contact.company.name }} ({{ contact.company.size }})", "Acme (40)"),
        ("Order {{ event.order_id }} / {{ event.properties.order_id }}", "Order o-7 / o-7"),
        ("{{ contact.tags | join(', ') }}", "newsletter, vip"),
        ("{% if 'vip' in contact.tags %}VIP{% else %}regular{% endif %}", "VIP"),
        ("{% for tag in contact.tags %}[{{ tag }}]{% endfor %}", "[newsletter][vip]"),
        ("{{ (contact.open_rate * 100) | round | int }}%", "70%"),
        ("cart {{ run.vars.cart_id }}", "cart cart-9"),
        ("no markup at all", "no markup at all"),
        ("<b>{{ contact.first_name }} & co</b>", "<b>Ada & co</b>"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    "template",
    [
        "[{{ contact.nickname }}]",
        "[{{ contact.nickname.first.second }}]",
        "[{{ nothing }}]",
        "[{{ run.vars.total + 1 }}]",
        "[{{ 2 * missing }}]",
        "[{% if missing > 3 %}big{% endif %}]",
        "[{% for x in missing %}{{ x }}{% endfor %}]",
        "[{{ missing | upper }}]",
    ],
)
def test_missing_data_renders_empty(template: str) -> None:
    assert render(template, CONTEXT) == "[]"


def test_jinja_globals_are_there_and_the_contexts_names_win_over_them() -> None:
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}", CONTEXT) == "012"
    assert render("{% set ns = namespace(n=2) %}{{ ns.n }}", CONTEXT) == "2"
    assert render("{{ range }}", {**CONTEXT, "range": "mine"}) == "mine"
    assert render_html("{{ range }}", {**CONTEXT, "range": "<b>"}) == "&lt;b&gt;"


def test_render_html_escapes_values_but_render_does_not() -> None:
    context = {"contact": {"first_name": "<script>alert(1)</script>"}}
    assert render("{{ contact.first_name }}", context) == "<script>alert(1)</script>"
    assert (
        render_html("<p>{{ contact.first_name }}</p>", context)
        == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


# -- filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ contact.nickname | default('friend') }}", "friend"),
        ("{{ contact.first_name | default('friend') }}", "Ada"),
        ("{{ none_value | default('x') }}", "x"),
        ("{{ '' | default('x') }}", ""),
        ("{{ '' | default('x', true) }}", "x"),
        ("{{ now | datetime('%Y-%m-%d') }}", "2026-02-02"),
        ("{{ now | datetime }}", "2026-02-02 14:30"),
        ("{{ now | datetime('%H:%M', contact.timezone) }}", "09:30"),
        ("{{ now | datetime('%H:%M', 'Not/AZone') }}", "14:30"),
        ("{{ contact.renewal_date | date('%d %b %Y') }}", "03 Feb 2026"),
        ("{{ contact.renewal_date | date }}", "2026-02-03"),
        ("{{ 'garbage' | date }}", ""),
        ("{{ missing | datetime }}", ""),
        ("{{ event.amount | money }}", "$1,234.50"),
        ("{{ event.amount | money('EUR') }}", "€1,234.50"),
        ("{{ 2.675 | money('GBP') }}", "£2.68"),
        ("{{ -5 | money('CHF', 0) }}", "-5 CHF"),
        ("{{ '19.9' | money }}", "$19.90"),
        ("{{ missing | money }}", ""),
        ("{{ 'abc' | money }}", ""),
    ],
)
def test_filters(template: str, expected: str) -> None:
    assert render(template, {**CONTEXT, "none_value": None}) == expected


def test_date_filter_reads_epoch_ms_and_iso_text_alike() -> None:
    stamp = ms("2026-05-04T03:02:01")
    assert render("{{ t | datetime('%Y-%m-%dT%H:%M:%S') }}", {"t": stamp}) == "2026-05-04T03:02:01"
    assert (
        render("{{ t | datetime('%Y-%m-%dT%H:%M:%S') }}", {"t": "2026-05-04T03:02:01Z"})
        == "2026-05-04T03:02:01"
    )
    assert render("{{ t | datetime('%S.%f') }}", {"t": stamp + 123}) == "01.123000"
    assert render("{{ t | datetime('%Y') }}", {"t": 10**30}) == ""


def test_no_clock_or_randomness_is_available() -> None:
    for template in ("{{ lipsum() }}", "{{ [1, 2, 3] | random }}", "{{ now() }}"):
        with pytest.raises(TemplateError):
            render(template, {"now": NOW})


# -- sandbox ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__dict__ }}",
        "{{ ''['__class__'] }}",
        "{{ contact._private }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_private_attributes_are_rejected_before_rendering(template: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template)
    assert caught.value.line == 1
    with pytest.raises(TemplateError):
        render(template, CONTEXT)


@pytest.mark.parametrize(
    "template",
    [
        "{{ contact | attr('__class__') }}",
        "{{ (contact | attr('__class__')).__name__ }}",
        "{{ contact.tags.append('owned') }}",
        "{{ contact.scores.update({'churn_risk': 0}) }}",
        "{{ contact.tags.pop() }}",
        "{{ contact.scores.clear() }}",
        "{{ 'x' * 10000000 }}",
        "{{ 2 ** 100000 }}",
        "{{ range(10000000) | list }}",
        "{{ '%*d' % (10000000, 1) }}",
        "{{ 'x' | center(100000000) }}",
    ],
)
def test_unsafe_operations_are_refused_at_render_time(template: str) -> None:
    tags_before = list(CONTEXT["contact"]["tags"])
    scores_before = dict(CONTEXT["contact"]["scores"])
    if "center" in template:
        # Padding is capped rather than refused.
        assert len(render(template, CONTEXT)) == templates.MAX_OUTPUT_ITEMS
        return
    with pytest.raises(TemplateError):
        render(template, CONTEXT)
    assert CONTEXT["contact"]["tags"] == tags_before
    assert CONTEXT["contact"]["scores"] == scores_before


def test_read_only_methods_still_work() -> None:
    assert (
        render("{{ contact.first_name.upper() }} {{ contact.scores.get('churn_risk') }}", CONTEXT)
        == "ADA 0.82"
    )


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "line"),
    [
        ("Hello {{ contact.first_name }", 1),
        ("line one\nline two\n{% if contact.plan %}\nno end", 3),  # reported at the unclosed block
        ("a\n\n{% if %}{% endif %}", 3),
        ("{{ contact.first_name | no_such_filter }}", 1),
        ("ok\n{% for %}", 2),
        ("{% endfor %}", 1),
    ],
)
def test_check_template_reports_syntax_errors_with_line(template: str, line: int) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


def test_check_template_accepts_valid_templates() -> None:
    check_template("Hi {{ contact.first_name | default('there') }}, {{ now | datetime('%A') }}")
    check_template("plain text")


def test_runtime_failure_is_a_template_error_with_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render("first\nsecond {{ 1 / 0 }}", CONTEXT)
    assert caught.value.line == 2
    assert "ZeroDivisionError" in caught.value.message


def test_templates_are_compiled_once() -> None:
    template = "cached {{ contact.first_name }} " + str(id(CONTEXT))
    before = templates._compiled.cache_info()
    render(template, CONTEXT)
    render(template, CONTEXT)
    after = templates._compiled.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 1
    assert templates._compiled.cache_info().maxsize == templates.CACHE_SIZE


# -- render_params ----------------------------------------------------------------------------------


def test_render_params_renders_nested_strings_and_keeps_other_values() -> None:
    params: dict[str, Any] = {
        "to": "{{ contact.email | default('none') }}",
        "subject": "Hi {{ contact.first_name }}",
        "html": "<p>{{ event.url }}</p>",
        "meta": {
            "tags": ["{{ contact.tags | length }}", 3, None],
            "flag": True,
            "cart": "{{ run.vars.cart_id }}",
        },
        "retries": 2,
    }
    rendered = render_params(params, CONTEXT)
    assert rendered == {
        "to": "none",
        "subject": "Hi Ada",
        "html": "<p>https://example.com/a?b=1</p>",
        "meta": {"tags": ["2", 3, None], "flag": True, "cart": "cart-9"},
        "retries": 2,
    }
    assert params["subject"] == "Hi {{ contact.first_name }}"


def test_render_params_escapes_html_keys() -> None:
    context = {"event": {"note": "<i>&</i>"}}
    rendered = render_params({"html_body": "{{ event.note }}", "text": "{{ event.note }}"}, context)
    assert rendered == {"html_body": "&lt;i&gt;&amp;&lt;/i&gt;", "text": "<i>&</i>"}


def test_rendering_is_deterministic() -> None:
    template = "{{ contact.first_name }} {{ now | datetime }} {{ event.amount | money }} {{ contact.tags }}"
    assert len({render(template, CONTEXT) for _ in range(5)}) == 1


# -- bounded work ---------------------------------------------------------------------------------------

TEMPLATE_BOMBS = {
    "percent width": ("{{ '%0999999999d' % 1 }}", "format width or precision"),
    "percent precision": ("{{ '%.999999999f' % 1.5 }}", "format width or precision"),
    "format filter": ("{{ '%0999999999d' | format(1) }}", "format width or precision"),
    "str.format width": ("{{ '{:0999999999}'.format(1) }}", "format width or precision"),
    "str.format nested width": ("{{ '{:{}}'.format(1, 999999999) }}", "nested fields"),
    "replace filter": ("{{ ('a' * 99999) | replace('a', 'a' * 99999) }}", "the result would have"),
    "replace method": ("{{ ('a' * 99999).replace('a', 'a' * 99999) }}", "the result would have"),
    "ljust": ("{{ 'x'.ljust(999999999) }}", "the result would have"),
    "indent per line": ("{{ ('a\\n' * 50000) | indent(1000) }}", "the result would have"),
    "nested range loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "loop iterations and calls",
    ),
    "doubling with ~": (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "a string of",
    ),
    "doubling with +": (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "the result would have",
    ),
    "exponential macro": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "loop iterations and calls",
    ),
    "captured output": (
        "{% set x %}{% for i in range(20000) %}{{ 'a' * 99999 }}{% endfor %}{% endset %}{{ x | length }}",
        "produced over",
    ),
    "literal text in a loop": ("{% for i in range(3000) %}" + "x" * 1000 + "{% endfor %}", "produced over"),
    "work on large inputs": (
        "{% for i in range(19000) %}{{ range(100000) | sum }}{% endfor %}",
        "handled over",
    ),
    # a list of many references to one long string: cheap to build, dear to lower-case for sorting
    "sort of a repeated long string": (
        "{% set l = ['x' * 99999] * 99999 %}{{ l | sort | length }}",
        "handled over",
    ),
    "unique of a repeated long string": (
        "{% set l = ['x' * 99999] * 99999 %}{{ l | unique | list | length }}",
        "handled over",
    ),
    "integer squaring": (
        "{% set ns = namespace(x=3) %}{% for i in range(60) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
        "an integer over",
    ),
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_BOMBS))
def test_template_bombs_fail_fast_with_a_clear_error(name: str) -> None:
    template, says = TEMPLATE_BOMBS[name]
    started = time.perf_counter()
    with pytest.raises(TemplateError) as caught:
        render(template, CONTEXT)
    elapsed = time.perf_counter() - started
    assert says in str(caught.value) and str(caught.value).startswith("line 1: not allowed: ")
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"  # generous: each stops within ~0.1 s on a laptop


def test_outputs_and_templates_are_bounded_in_size() -> None:
    with pytest.raises(TemplateError, match="the output has"):
        render("{{ 'a' * 99999 }}{{ 'b' * 99999 }}{{ 'c' * 99999 }}", CONTEXT)
    assert len(render("{{ 'a' * 99999 }}{{ 'b' * 99999 }}", CONTEXT)) == 199_998
    with pytest.raises(TemplateError, match="characters"):
        check_template("x" * (templates.MAX_TEMPLATE_CHARS + 1))
    with pytest.raises(TemplateError, match="recursive loops"):
        check_template("{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}")


def test_ordinary_loops_filters_and_formats_still_render() -> None:
    template = (
        "{% for t in contact.tags %}{{ loop.index }}:{{ '%-6s' | format(t) }}|{% endfor %}"
        "{{ '{:>8.2f}'.format(12.345) }} {{ contact.tags | map('upper') | join(', ') }} "
        "{{ ('ab' ~ 'cd') * 2 }} {{ 2 ** 10 }}"
    )
    tags = CONTEXT["contact"]["tags"]
    expected = "".join(f"{i}:{t:<6}|" for i, t in enumerate(tags, 1))
    upper = ", ".join(t.upper() for t in tags)
    assert render(template, CONTEXT) == f"{expected}   12.35 {upper} abcdabcd 1024"
