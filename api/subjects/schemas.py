from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contract import Brand


class CustomerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-0001",
                    "brand": Brand.MINI,
                    "masked_mobile": "138****8000",
                    "vins": ["WMWXR3100N2K12345"],
                }
            ]
        }
    )

    customer_id: str
    brand: str
    masked_mobile: str
    vins: list[str]
