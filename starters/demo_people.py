"""The demo people ``icpc dev`` adds to an empty embedded record, each with a command-line token.

So that README's quick start runs as it reads: business support (``bss``) starts a case for team
``north-1`` in area ``north``; its social worker ``sam`` confirms it; ``tia``, the team's manager,
and ``hal``, the area's head of service, are there for the delay and the plan; ``ada`` is the
demo's account administrator (``icpc users ...`` with ``--token-file var/tokens/ada``). Each
token is written to ``<data folder>/tokens/<id>`` (0600, in a 0700 folder) and used with
``--token-file var/tokens/sam``, as an operator uses their own.

Only on the embedded default (the record in the data folder), and only while the record has no
people at all: a record with real people is never given demo ones. Every demo person signs in
to the web form with the documented :data:`DEMO_PASSWORD`. It is not a temporary password (no
change is forced at sign-in, or the demo could not be followed as written): it is public, so
the embedded default listens on 127.0.0.1 only and is never a real service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoPerson:
    id: str
    name: str
    roles: tuple[str, ...]
    teams: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    service_wide: bool = False

    @property
    def email(self) -> str:
        return f"{self.id}@example.org"


DEMO_PASSWORD = "demo password, not for real use"  # README's quick start; public on purpose
DEMO_ADMIN = "ada"
DEMO_TEAM = "north-1"
DEMO_AREA = "north"
DEMO_PEOPLE = (
    DemoPerson("bss", "Bea Stone", ("cp_conference_service",), service_wide=True),
    DemoPerson("sam", "Sam Okafor", ("social_worker",), teams=(DEMO_TEAM,)),
    DemoPerson("tia", "Tia Brennan", ("team_manager",), teams=(DEMO_TEAM,)),
    DemoPerson("hal", "Hal Idowu", ("area_head_of_service",), areas=(DEMO_AREA,)),
    DemoPerson(DEMO_ADMIN, "Ada Lovelace", ("admin",)),
)


def seed_demo_people(url: str, data_dir: Path) -> Path | None:
    """Add the demo people and their tokens to an empty record; the tokens' folder, or None
    when the record already has people (nothing is added)."""
    from records.database import make_engine
    from records.people import PeopleStore

    engine = make_engine(url)
    try:
        people = PeopleStore(engine)
        if people.all():
            return None
        folder = data_dir / "tokens"
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
        for demo in DEMO_PEOPLE:
            people.add(
                demo.id,
                roles=demo.roles,
                name=demo.name,
                email=demo.email,
                teams=demo.teams,
                areas=demo.areas,
                service_wide=demo.service_wide,
                password=DEMO_PASSWORD,  # documented, not temporary: no change forced
            )
            token = people.issue_token(demo.id, label="icpc dev demo")
            path = folder / demo.id
            path.touch(mode=0o600)
            path.chmod(0o600)
            path.write_text(token + "\n", encoding="utf-8")
        return folder
    finally:
        engine.dispose()
