"""Imports every domain's models so that Alembic sees the whole metadata."""

from api.audit import models as audit_models
from api.consent import models as consent_models
from api.console import models as console_models
from api.core import ratelimit as ratelimit_models
from api.core.database import Base
from api.dev import models as dev_models
from api.notifications import models as notification_models
from api.subjects import models as subject_models
from api.tickets import models as ticket_models
from api.unanswered import models as unanswered_models
from api.verification import models as verification_models

__all__ = [
    "Base",
    "audit_models",
    "consent_models",
    "console_models",
    "dev_models",
    "notification_models",
    "ratelimit_models",
    "subject_models",
    "ticket_models",
    "unanswered_models",
    "verification_models",
]
