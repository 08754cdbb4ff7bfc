"""Signed tokens: the subject proof a verification issues, and the app session of the dev app."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.core.crypto import keyed_hash
from api.core.errors import ApiError
from api.core.settings import Settings


@dataclass(frozen=True)
class SubjectProof:
    jti: str
    customer_id: str
    brand: str
    assurance: str  # a contract Assurance value
    expires_at: datetime
    # A proof re-issued from a verification for its conversation (api.verification.service
    # .reissue) carries the conversation's keyed hash and is good in that conversation only.
    conversation: str | None = None


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.proof_secret, salt=salt)


# What a subject proof is for: the customer's own requests at this API. Checked on every read,
# so a token signed for anything else (another audience or purpose) is refused.
PROOF_AUDIENCE = "rights-api/subject"


def conversation_hash(settings: Settings, conversation: str) -> str:
    """How a conversation id (Rasa's sender id) is kept and compared: never in clear."""
    return keyed_hash(settings.lookup_pepper, "conversation", conversation)


def sign_proof(
    settings: Settings,
    customer_id: str,
    brand: str,
    assurance: str,
    now: datetime,
    conversation_hash: str | None = None,
) -> tuple[str, datetime]:
    exp = int(now.timestamp()) + settings.proof_ttl_seconds
    payload: dict[str, str | int] = {
        "jti": secrets.token_hex(16),
        "cid": customer_id,
        "brand": brand,
        "asr": assurance,
        "aud": PROOF_AUDIENCE,
        "exp": exp,
    }
    if conversation_hash:
        payload["conv"] = conversation_hash
    return _serializer(settings, "subject-proof").dumps(payload), datetime.fromtimestamp(
        exp, timezone.utc
    )


def read_proof(settings: Settings, token: str, now: datetime) -> SubjectProof:
    try:
        data = _serializer(settings, "subject-proof").loads(token)
        if data["aud"] != PROOF_AUDIENCE:
            raise ValueError("proof issued for another audience")
        proof = SubjectProof(
            jti=str(data["jti"]),
            customer_id=str(data["cid"]),
            brand=str(data["brand"]),
            assurance=str(data["asr"]),
            expires_at=datetime.fromtimestamp(int(data["exp"]), timezone.utc),
            conversation=str(data["conv"]) if data.get("conv") else None,
        )
    # An absurd exp overflows datetime (OverflowError, OSError): still only a bad proof.
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise ApiError(
            401, "invalid_proof", "the subject proof is not valid", "header.X-Subject-Proof"
        ) from exc
    if proof.expires_at <= now:
        raise ApiError(
            401, "proof_expired", "the subject proof has expired", "header.X-Subject-Proof"
        )
    return proof


def sign_app_session(settings: Settings, customer_id: str, now: datetime) -> str:
    exp = int(now.timestamp()) + settings.app_session_ttl_seconds
    return _serializer(settings, "app-session").dumps({"cid": customer_id, "exp": exp})


def read_app_session(settings: Settings, token: str, now: datetime) -> str | None:
    """The customer id of a valid, unexpired app session token, else None."""
    try:
        data = _serializer(settings, "app-session").loads(token)
        if int(data["exp"]) <= now.timestamp():
            return None
        return str(data["cid"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError, OverflowError):
        return None
