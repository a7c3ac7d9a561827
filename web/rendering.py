"""The page templates: Jinja with autoescaping, the filters pages share, and the context every
page gets (the signed-in user, the CSRF token, whether sign-in is by single sign-on)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from starlette.requests import Request

from domain.calendar import LONDON
from domain.procedure import Procedure
from domain.wording import capitalised, with_article
from web.auth import ensure_csrf
from web.presentation import role_in_sentence

TEMPLATES = Path(__file__).parent / "templates"
SERVICE_NAME = "ICPC bookings"


def datetime_text(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M}"


def date_text(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(LONDON).date()
    return f"{day:%a} {day.day} {day:%B %Y}"


def sentence(text: str | None) -> str:
    return capitalised(text or "")


def words(identifier: str | None) -> str:
    return capitalised((identifier or "").replace("_", " "))


class Renderer:
    def __init__(self, procedures: Mapping[str, Procedure], proxy_mode: bool) -> None:
        self.proxy_mode = proxy_mode
        self.templates = Jinja2Templates(directory=TEMPLATES)
        env = self.templates.env
        env.autoescape = True
        # GOV.UK Frontend's components, from govuk-frontend-jinja: "govuk_frontend_jinja/...".
        env.loader = ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        )
        env.filters.update(datetime=datetime_text, date=date_text, words=words, sentence=sentence)
        env.globals.update(
            service_name=SERVICE_NAME,
            # A role in running text where no case names the procedure (the signed-in user's).
            role_words=lambda role: role_in_sentence(procedures, role),
            with_article=with_article,
        )

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("user", getattr(request.state, "user", None))
        context["csrf_token"] = ensure_csrf(request.state.session)
        context["proxy_mode"] = self.proxy_mode
        return self.templates.TemplateResponse(request, name, context, status_code=status)
