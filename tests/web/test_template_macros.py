"""The templates' own small macros (web/templates/_macros.html) that feed the Design System's
components: text of several lines (a postal address, safety notes, a break-glass reason)."""

from __future__ import annotations

import re

from jinja2 import Environment

from web.rendering import Renderer


def environment() -> Environment:
    return Renderer({}, proxy_mode=False).templates.env


def test_each_line_is_escaped_and_the_lines_are_joined_by_line_breaks() -> None:
    page = environment().from_string('{% from "_macros.html" import lines %}[{{ lines(text) }}]')
    typed = "12 <High> Street & Sons\r\nTown\n\nAB1 2CD\n"
    assert page.render(text=typed) == "[12 &lt;High&gt; Street &amp; Sons<br>Town<br><br>AB1 2CD]"
    assert page.render(text=None) == "[]"


def test_a_summary_list_value_of_several_lines_keeps_them_as_line_breaks_not_whitespace() -> None:
    # The summary list's macro indents the lines of a value it is given: none may reach the text.
    page = environment().from_string(
        '{% from "_macros.html" import lines %}'
        '{% from "govuk_frontend_jinja/components/summary-list/macro.html" import govukSummaryList %}'
        "{{ govukSummaryList({'rows': [{'key': {'text': 'Postal address'},"
        " 'value': {'html': lines(address)}}]}) }}"
    )
    html = page.render(address="1 Road\nTown <b>\nAB1 2CD")
    value = re.search(r'<dd class="govuk-summary-list__value">(.*?)</dd>', html, re.S)
    assert value is not None
    assert value.group(1).strip() == "1 Road<br>Town &lt;b&gt;<br>AB1 2CD"
