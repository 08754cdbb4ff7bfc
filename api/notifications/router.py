"""The outbox is read through the dev router (/v1/dev/outbox); nothing public here."""

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
