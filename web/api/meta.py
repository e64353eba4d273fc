"""Who am I, my tokens, and the OpenAPI description of the API."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify

from tracker.db import write_transaction
from tracker.services import auth
from web import throttle
from web.api import bp, forget_tokens, render
from web.api.masterdata import created
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.api.schemas.openapi import document
from web.db import get_session


@bp.get("/me")
@operation("The signed-in user", reply=models.Me)
def get_me() -> Response:
    actor = g.actor
    me: models.Me = {"name": actor.name, "role": actor.role.value, "party": actor.party_id}
    return jsonify(me)


@bp.get("/tokens")
@operation("The signed-in user's bearer tokens (admin: ?user=NAME)", reply=models.ApiTokens,
           query=models.UserQuery, errors=(404,))
def get_tokens(query: models.UserQuery) -> Response:
    """The signed-in user's tokens; an admin may ask for another user's (?user=NAME)."""
    rows = auth.list_tokens(get_session(), actor=g.actor, user_name=query.user)
    return jsonify({"items": [render.api_token(t) for t in rows]})


@bp.post("/tokens")
@operation("Another bearer token, shown once (admin: ?user=NAME)", reply=models.ApiToken,
           status=201, query=models.UserQuery, errors=(404, 409, 422, 429))
def post_token(query: models.UserQuery) -> Response:
    """Another bearer token for the signed-in user (or, for an admin, ?user=NAME)."""
    refused = throttle.first_refusal(("token", g.actor.name))
    if refused is not None:
        return throttle.too_many(refused, f"too many tokens issued to {g.actor.name}; "
                                          f"try again in {refused.retry_after} s")
    session = get_session()
    with write_transaction(session):
        row, token = auth.create_token(session, actor=g.actor, user_name=query.user)
        body = render.api_token(row, token)
    return created(body)


@bp.delete("/tokens/<int:token_id>")
@operation("Revoke a bearer token: one's own, or as admin anyone's", reply=models.ApiToken,
           errors=(404, 409))
def delete_token(token_id: int) -> Response:
    """Revoke a token: one's own, or as admin anyone's. Gone at once in this process; the
    other server processes drop it from their cache within TOKEN_CACHE_SECONDS."""
    session = get_session()
    with write_transaction(session):
        row = auth.revoke_token(session, token_id, actor=g.actor)
        body = render.api_token(row)
    forget_tokens()
    return jsonify(body)


@bp.get("/openapi.json")
@operation("This document: the API's OpenAPI 3.1 description", reply={"type": "object"},
           public=True)
def openapi() -> Response:
    return jsonify(document(current_app))
