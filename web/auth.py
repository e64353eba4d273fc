"""Who is signed in to the pages: Flask-Login over the server-side session, the user's
role deciding their home and what they may open."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.wrappers import Response

from tracker.models import Role, User
from tracker.services.auth import Actor, actor_for
from web.db import get_session

F = TypeVar("F", bound=Callable[..., Any])

# Each role's home page (the endpoint signing in leads to).
HOMES = {
    Role.ADMIN: "admin.home",
    Role.COMPLIANCE: "compliance.home",
    Role.INSPECTOR: "scanner.app",  # their work is scanning; their scans are a tab of it
    Role.DISTRIBUTOR: "portal.home",
}

login_manager = LoginManager()


class PageUser(UserMixin):  # type: ignore[misc]
    """The signed-in user as the pages need it: the actor the services take."""

    def __init__(self, user: User) -> None:
        self.id = str(user.id)
        self.actor: Actor = actor_for(user)
        self.name = user.name
        self.role = user.role

    @property
    def home(self) -> str:
        return url_for(HOMES[self.role])


@login_manager.user_loader
def _load_user(user_id: str) -> PageUser | None:
    session = get_session()
    user = session.get(User, int(user_id))
    page_user = PageUser(user) if user is not None and user.active else None
    session.rollback()  # end the read; the view starts its own transaction
    return page_user


def actor() -> Actor:
    """The signed-in user's actor (the view is behind ``role_required``)."""
    return current_user.actor  # type: ignore[no-any-return]


def role_required(*roles: Role) -> Callable[[F], F]:
    """Sign-in required (else the sign-in page, then back here); other roles than these
    (and admin, who may do everything) get the 403 page."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
            if current_user.role is not Role.ADMIN and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def safe_next(target: str | None) -> str | None:
    """A ``next`` address to go back to after signing in: only a path on this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"


__all__ = ["HOMES", "PageUser", "Response", "actor", "init_app", "role_required", "safe_next"]
