"""Users, bearer tokens, passwords and the role rules every service applies."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from tracker.models import ApiToken, Party, Role, User
from tracker.services import audit
from tracker.services.inputs import parse_enum

TOKEN_PREFIX = "trk_"
# scrypt parameters (RFC 7914 interactive login): 16 MiB, well under a second.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself for CLI set-up."""

    name: str
    role: Role
    party_id: str | None = None
    user_id: int | None = None

    def require(self, *roles: Role, action: str) -> None:
        """Refuse unless the actor has one of ``roles`` (admin may do everything)."""
        if self.role is Role.ADMIN or self.role in roles:
            return
        allowed = ", ".join(r.value for r in (Role.ADMIN, *roles))
        raise PermissionDenied(
            f"role '{self.role.value}' may not {action}; it needs one of: {allowed}"
        )

    def require_party(self, party_id: str, *, action: str) -> None:
        """A distributor acts only as its own party."""
        if self.role is Role.DISTRIBUTOR and self.party_id != party_id:
            raise PermissionDenied(
                f"distributor user '{self.name}' acts for party '{self.party_id}' "
                f"and may not {action} for party '{party_id}'"
            )


SYSTEM = Actor(name="system", role=Role.ADMIN)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate.hex(), digest)


def actor_for(user: User) -> Actor:
    return Actor(name=user.name, role=user.role, party_id=user.party_id, user_id=user.id)


def create_user(
    session: Session,
    *,
    name: str,
    role: str,
    party_id: str | None = None,
    password: str | None = None,
    actor: Actor,
) -> tuple[User, str]:
    """Create a user and its first bearer token; the token is returned once, never stored."""
    actor.require(action="create users")
    name = name.strip()
    if not name:
        raise InvalidInput("user name must not be empty", code="invalid_user")
    role_value = parse_enum(Role, role, what="role", code="invalid_role")
    if role_value is Role.DISTRIBUTOR and not party_id:
        raise InvalidInput("a distributor user needs --party PARTY_ID: the party it acts for",
                           code="party_required")
    if party_id is not None and session.get(Party, party_id) is None:
        raise NotFound(f"party '{party_id}' does not exist; create it first",
                       code="unknown_party")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"user '{name}' already exists", code="user_exists")
    user = User(
        name=name,
        role=role_value,
        party_id=party_id,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    token = issue_token(session, user)
    audit.record(session, actor=actor, action="user.create", subject_type="user",
                 subject_id=user.id, detail={"name": user.name, "role": user.role,
                                             "party": user.party_id})
    return user, token


def issue_token(session: Session, user: User, *, lifetime: dt.timedelta | None = None) -> str:
    """A new bearer token of the user, valid until revoked or, with ``lifetime``, until
    that long from now (a device's sign-in)."""
    return _new_token(session, user, lifetime=lifetime)[1]


def _new_token(session: Session, user: User, *, lifetime: dt.timedelta | None = None
               ) -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:12],
                   expires_at=None if lifetime is None else utcnow() + lifetime)
    session.add(row)
    session.flush()
    return row, token


def authenticate_token(session: Session, token: str | None) -> Actor:
    """The actor behind a bearer token; 401-class error when missing, unknown or revoked."""
    if not token:
        raise AuthenticationRequired(
            "this call needs an 'Authorization: Bearer TOKEN' header; "
            "create a token with 'tracker users create'"
        )
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    )
    if row is None or row.revoked_at is not None or not row.user.active:
        raise AuthenticationRequired("the bearer token is not valid or has been revoked",
                                     code="invalid_token")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise AuthenticationRequired(f"the bearer token expired at {row.expires_at.isoformat()}"
                                     "; sign in again", code="token_expired")
    return actor_for(row.user)


def authenticate_password(session: Session, name: str, password: str) -> Actor:
    user = session.scalar(select(User).where(User.name == name))
    if (
        user is None
        or not user.active
        or user.password_hash is None
        or not _password_matches(password, user.password_hash)
    ):
        raise AuthenticationRequired("wrong user name or password", code="invalid_credentials")
    return actor_for(user)



# --- a user's tokens: list, issue another, revoke ---------------------------------------


def _token_owner(session: Session, actor: Actor, user_name: str | None, *, action: str
                 ) -> User:
    """The user whose tokens the actor acts on: itself, or (admin only) the named one."""
    if user_name is None or (actor.user_id is not None and user_name == actor.name):
        if actor.user_id is None:
            raise InvalidInput(f"name the user to {action} for", code="missing_field")
        user = session.get(User, actor.user_id)
    else:
        actor.require(action=f"{action} for another user")
        user = session.scalar(select(User).where(User.name == user_name))
        if user is None:
            raise NotFound(f"user {user_name!r} does not exist", code="unknown_user")
    if user is None:
        raise NotFound("the signed-in user no longer exists", code="unknown_user")
    return user


def list_tokens(session: Session, *, actor: Actor, user_name: str | None = None
                ) -> list[ApiToken]:
    """A user's tokens, newest first (never the tokens themselves: only their prefixes)."""
    user = _token_owner(session, actor, user_name, action="list tokens")
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id.desc())))


def create_token(session: Session, *, actor: Actor, user_name: str | None = None
                 ) -> tuple[ApiToken, str]:
    """Another bearer token for the user (a second phone, a rotated key); returned once."""
    user = _token_owner(session, actor, user_name, action="create tokens")
    if not user.active:
        raise Conflict(f"user {user.name!r} is deactivated", code="inactive_user")
    row, token = _new_token(session, user)
    audit.record(session, actor=actor, action="token.create", subject_type="token",
                 subject_id=row.id, detail={"user": user.name, "prefix": row.prefix})
    return row, token


def revoke_token(session: Session, token_id: int, *, actor: Actor,
                 now: dt.datetime | None = None) -> ApiToken:
    """Revoke one token: a user its own, an admin anyone's. It stops working at once in
    this process and within the API's token cache time in other server processes."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist", code="unknown_token")
    if row.user_id != actor.user_id:
        actor.require(action="revoke another user's token")
    if row.revoked_at is not None:
        raise Conflict(f"token {token_id} ({row.prefix}…) was already revoked on "
                       f"{row.revoked_at:%Y-%m-%d %H:%M} UTC", code="already_revoked")
    row.revoked_at = now or utcnow()
    session.flush()
    audit.record(session, actor=actor, action="token.revoke", subject_type="token",
                 subject_id=row.id, now=row.revoked_at, detail={"prefix": row.prefix})
    return row
