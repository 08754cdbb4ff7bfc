"""Who is asking: the request dependencies for the bot's key, the subject proof and staff tokens.

Routes declare them (`BotDep`, `SubjectDep`, `StaffDep`) instead of reading headers; the
settings and the clock come from the app the same way.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Security

from api.core.crypto import token_fingerprint
from api.core.docs import API_KEY_HEADER, STAFF_BEARER_HEADER, SUBJECT_PROOF_HEADER
from api.core.errors import ApiError
from api.core.settings import Settings
from api.core.tokens import SubjectProof, conversation_hash, read_proof


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    """The app's clock (frozen in tests), read once per request."""
    now: datetime = request.app.state.clock.now()
    return now


# The `_documented` parameters only declare the schemes in OpenAPI (api.core.docs); they never
# refuse a request, the checks below do.
ApiKeyDoc = Annotated[str | None, Security(API_KEY_HEADER)]
SubjectProofDoc = Annotated[str | None, Security(SUBJECT_PROOF_HEADER)]
StaffBearerDoc = Annotated[Any, Security(STAFF_BEARER_HEADER)]


# What is kept of a header the bot says about its customer (api.core.clients).
MAX_HEADER = 128


def is_bot(request: Request) -> bool:
    """Whether the request carries the action server's key."""
    key = request.headers.get("x-api-key", "")
    expected = get_settings(request).bot_api_key
    return bool(key) and hmac.compare_digest(key.encode(), expected.encode())


def require_bot(request: Request, _documented: ApiKeyDoc = None) -> None:
    if not is_bot(request):
        raise ApiError(401, "invalid_api_key", "a valid X-API-Key is required", "header.X-API-Key")


def staff_id(request: Request) -> str | None:
    """The staff actor id if a valid bearer token was sent, else None."""
    settings = get_settings(request)
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    token = auth[7:].strip().encode()
    for known in settings.staff_token_list:
        if hmac.compare_digest(token, known.encode()):
            return "staff:" + token_fingerprint(known)
    return None


def require_staff(request: Request, _documented: StaffBearerDoc = None) -> str:
    actor = staff_id(request)
    if actor is None:
        raise ApiError(
            401,
            "invalid_staff_token",
            "a valid staff bearer token is required",
            "header.Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return actor


def require_subject(
    request: Request, _key: ApiKeyDoc = None, _proof: SubjectProofDoc = None
) -> SubjectProof:
    require_bot(request)
    token = request.headers.get("x-subject-proof", "")
    if not token:
        raise ApiError(
            401, "proof_required", "X-Subject-Proof is required", "header.X-Subject-Proof"
        )
    settings = get_settings(request)
    proof = read_proof(settings, token, get_now(request))
    if proof.conversation is not None:
        # A proof re-issued for a conversation is no good elsewhere, even from the bot.
        said = request.headers.get("x-conversation-id", "").strip()[:MAX_HEADER]
        if not said or not hmac.compare_digest(
            conversation_hash(settings, said), proof.conversation
        ):
            raise ApiError(
                401,
                "proof_other_conversation",
                "this subject proof was issued for another conversation",
                "header.X-Conversation-Id",
            )
    return proof


SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
SubjectDep = Annotated[SubjectProof, Depends(require_subject)]
StaffDep = Annotated[str, Depends(require_staff)]
