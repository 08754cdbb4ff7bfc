"""The closed sets of values that cross process boundaries (DESIGN.md's contracts).

Each is a `str` enum, so a member compares equal to, serialises as and formats as its value:
the database columns, JSON bodies and tracker slots keep plain strings.
"""

from __future__ import annotations

from enum import Enum


class _Value(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)


class Brand(_Value):
    MINI = "mini"
    BMW = "bmw"


class TicketType(_Value):
    UNSUBSCRIBE_MARKETING = "unsubscribe_marketing"
    WITHDRAW_CONSENT = "withdraw_consent"
    CANCEL_ACCOUNT = "cancel_account"
    ACCESS_COPY = "access_copy"
    RECTIFICATION = "rectification"
    DELETION = "deletion"
    PORTABILITY = "portability"
    DECISION_EXPLANATION = "decision_explanation"
    COMPLAINT = "complaint"


class Status(_Value):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    AWAITING_CUSTOMER = "awaiting_customer"
    COMPLETED = "completed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN})
OPEN_STATUSES = frozenset(set(Status) - FINAL_STATUSES)


class Channel(_Value):
    CHAT = "chat"
    IVR = "ivr"


class Language(_Value):
    ZH = "zh"
    EN = "en"


class Actor(_Value):
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"


class Assurance(_Value):
    """How the customer proved who they are, weakest first."""

    APP_SESSION = "app_session"
    SMS_CODE = "sms_code"
    PHONE_PASSWORD = "phone_password"


class AnswerKind(_Value):
    """What the answer ranker said to a policy question."""

    TOPIC = "topic"  # a curated answer
    QUOTE = "quote"  # a passage of the policy
    ABSTAIN = "abstain"  # "I don't know", with the hotline


class ReviewMark(_Value):
    """How the privacy team settled a group of questions the bot could not answer well."""

    ANSWERED_BY_TOPIC = "answered_by_topic"
    NEW_TOPIC_NEEDED = "new_topic_needed"
    OUT_OF_SCOPE = "out_of_scope"


class WayThrough(_Value):
    """What still works for a customer whose number is locked after wrong guesses."""

    APP_SESSION = "app_session"  # signed in to the app: low-risk requests
    HOTLINE_AGENT = "hotline_agent"  # a person on the hotline: every request
