"""What a page can end in besides itself: a sign-in first, or an error page."""

from __future__ import annotations


class SignInNeeded(Exception):
    """No one is signed in: the page sends them to sign in, and back afterwards."""


class Problem(Exception):
    """An error page: 403, 404, 503 ..."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message
