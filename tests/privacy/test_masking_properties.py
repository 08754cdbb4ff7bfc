"""Property: no valid ID number or mobile, however it is typed, survives the shared masking."""

from __future__ import annotations

from hypothesis import given, settings

from privacy.identifiers import find_identifiers
from privacy.masking import mask_log_text, mask_personal, mask_stored_text
from tests.support.spellings import Typed, survivors, typed_numbers


@settings(max_examples=400, deadline=None)
@given(typed_numbers())
def test_no_number_survives_any_masking(typed: Typed) -> None:
    for mask in (mask_personal, mask_stored_text, mask_log_text):
        masked = mask(typed.text)
        assert not survivors(typed, masked), (typed.text, masked)


@settings(max_examples=200, deadline=None)
@given(typed_numbers())
def test_every_spelling_is_read_as_the_number(typed: Typed) -> None:
    """The NLU reads the same number the masking hides: one decision for both."""
    values = [i.value for i in find_identifiers(typed.text) if i.entity == typed.kind]
    assert values == [typed.digits], typed.text
