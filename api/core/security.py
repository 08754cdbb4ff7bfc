"""Hashing, signing, masking and the authentication dependencies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Request, Security
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.core.docs import API_KEY_HEADER, STAFF_BEARER_HEADER, SUBJECT_PROOF_HEADER
from api.core.errors import ApiError
from api.core.settings import Settings
from privacy import masking

# scrypt parameters: about 16 MiB and a few tens of milliseconds per hash.
_SCRYPT: dict[str, int] = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        _scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return hmac.compare_digest(digest, expected)


# Hashed when no customer matches, so unknown numbers cost the same work.
DUMMY_PASSWORD_HASH = hash_password("000000", salt=b"\x00" * 16)


def keyed_hash(pepper: str, *parts: str) -> str:
    """HMAC-SHA256: lookup hash of a mobile number, hash of an SMS code bound to its challenge."""
    msg = "\x1f".join(parts).encode()
    return hmac.new(pepper.encode(), msg, hashlib.sha256).hexdigest()


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- masking in logs


def mask_mobile(text: str) -> str:
    """13800138000 -> 138****8000 (also inside longer text)."""
    return masking.mask_mobiles(masking.ascii_digits(text))


def mask_log_text(text: str) -> str:
    """What a log line may hold: mobiles and ID numbers masked, codes and passwords starred."""
    return masking.mask_bare_codes(masking.mask_personal(text))


class MaskingFilter(logging.Filter):
    """Masks every log record that passes through a handler: message, arguments, traceback.

    Arguments are masked one by one and keep their places (uvicorn's access formatter unpacks
    them); arguments that are neither text nor numbers (exceptions, objects) are masked as their
    text. Tracebacks and stacks are formatted and masked into `exc_text` / `stack_info`, which
    formatters print instead of formatting `exc_info` again.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_masked", False):
            return True
        if isinstance(record.msg, str):
            record.msg = mask_log_text(record.msg)
        else:
            record.msg = mask_log_text(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {k: _mask_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_mask_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        record._masked = True
        return True


def _mask_arg(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask_log_text(text)
    return value if masked == text and not isinstance(value, str) else masked


def install_log_masking() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())


# ---------------------------------------------------------------- signed tokens

Assurance = str  # "sms_code" | "phone_password" | "app_session"


@dataclass(frozen=True)
class SubjectProof:
    jti: str
    customer_id: str
    brand: str
    assurance: Assurance
    expires_at: datetime


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.proof_secret, salt=salt)


# What a subject proof is for: the customer's own requests at this API. Checked on every read,
# so a token signed for anything else (another audience or purpose) is refused.
PROOF_AUDIENCE = "rights-api/subject"


def sign_proof(
    settings: Settings, customer_id: str, brand: str, assurance: str, now: datetime
) -> tuple[str, datetime]:
    exp = int(now.timestamp()) + settings.proof_ttl_seconds
    payload = {
        "jti": secrets.token_hex(16),
        "cid": customer_id,
        "brand": brand,
        "asr": assurance,
        "aud": PROOF_AUDIENCE,
        "exp": exp,
    }
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


# ---------------------------------------------------------------- auth dependencies


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# The `_documented` parameters only declare the schemes in OpenAPI (api.core.docs); they never
# refuse a request, the checks below do.
ApiKeyDoc = Annotated[str | None, Security(API_KEY_HEADER)]
SubjectProofDoc = Annotated[str | None, Security(SUBJECT_PROOF_HEADER)]
StaffBearerDoc = Annotated[Any, Security(STAFF_BEARER_HEADER)]


def require_bot(request: Request, _documented: ApiKeyDoc = None) -> None:
    settings = get_settings(request)
    key = request.headers.get("x-api-key", "")
    if not key or not hmac.compare_digest(key.encode(), settings.bot_api_key.encode()):
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
    return read_proof(get_settings(request), token, request.app.state.clock.now())
