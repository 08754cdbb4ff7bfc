from __future__ import annotations

from pydantic import BaseModel


class CustomerOut(BaseModel):
    customer_id: str
    brand: str
    masked_mobile: str
    vins: list[str]
