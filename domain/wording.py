"""Role titles in running text, shared by every refusal and notice the rules write."""

from __future__ import annotations

from domain.procedure import Procedure


def in_sentence(title: str) -> str:
    """A role title mid-sentence: lower case, but acronyms kept ('CP conference service')."""
    return " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in title.split(" "))


def role_title(procedure: Procedure, role: str) -> str:
    """A role's title mid-sentence; a role the procedure does not declare reads as its id."""
    declared = {r.id for r in procedure.roles}
    return in_sentence(procedure.role(role).title) if role in declared else role.replace("_", " ")


def with_article(title: str) -> str:
    """'a team manager', 'an ISRO', 'an area manager'."""
    return f"{'an' if title[:1].lower() in 'aeiou' else 'a'} {title}"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def roles_text(procedure: Procedure, roles: list[str], joiner: str = "or") -> str:
    """'a team manager or an area manager'; with joiner 'and', every one of them."""
    titles = [with_article(role_title(procedure, r)) for r in roles]
    return f" {joiner} ".join(titles) if titles else "nobody"
