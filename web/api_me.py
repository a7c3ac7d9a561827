"""``GET /api/v1/me``: who the token or session is, as the service knows them now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from web.api_door import ApiPerson

router = APIRouter(tags=["people"])


class Me(BaseModel):
    id: str
    name: str
    roles: list[str]
    teams: list[str]
    areas: list[str]
    service_wide: bool


@router.get("/me", response_model=Me, summary="The person calling")
async def me(person: ApiPerson) -> Me:
    return Me(
        id=person.id,
        name=person.display_name,
        roles=sorted(person.roles),
        teams=sorted(person.teams),
        areas=sorted(person.areas),
        service_wide=person.service_wide,
    )
