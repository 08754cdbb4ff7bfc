"""Subject endpoints live with their domains (/v1/subjects/me/tickets in tickets,
/v1/subjects/{customer_id}/consents in consent); this router is kept for the layout."""

from fastapi import APIRouter

router = APIRouter(tags=["subjects"])
