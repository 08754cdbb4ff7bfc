"""The policy knowledge the API works with: the shared contract's `Rights`, one loader for every
process (`contract.load_rights`), read from `data/policy/rights.yml` at start-up.

`Policy` stays the API's name for it; the request dependency hands out the app's copy, so a test
app can run on another file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from contract import Rights, load_rights

Policy = Rights


def load_policy(path: Path) -> Policy:
    return load_rights(path)


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


PolicyDep = Annotated[Policy, Depends(get_policy)]
