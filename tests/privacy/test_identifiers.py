"""What `privacy.identifiers` finds and `privacy.masking` masks, in both runtimes."""

from __future__ import annotations

import pytest

from privacy.identifiers import find_identifiers, is_valid_vin, normalise_code, normalise_mobile
from privacy.masking import CODE_MASK, mask_mobile, mask_personal, mask_stored_text

ID_NUMBER = "11010519491231002X"  # fictional, valid checksum


def found(text: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for item in find_identifiers(text):
        result.setdefault(item.entity, []).append(item.value)
    return result


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "我的手机号是13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "8613800138000",
        "138  0013  8000",
        "138.0013.8000",
        "138\u30000013\u30008000",
        "１３８００１３８０００",
        "mobile13800138000",
        "选 2 13800138000",
    ],
)
def test_mobiles(text: str) -> None:
    assert found(text) == {"mobile": ["13800138000"]}
    assert normalise_mobile(text) == "13800138000"


@pytest.mark.parametrize("text", ["12800138000", "1380013800", "138001380001", "02161234567"])
def test_not_mobiles(text: str) -> None:
    assert "mobile" not in found(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("123456", "123456"), ("验证码是482913", "482913"), ("my code is 907315.", "907315")],
)
def test_otp_codes(text: str, code: str) -> None:
    assert found(text) == {"otp_code": [code]}


@pytest.mark.parametrize(
    "text", ["1234567", "12345", "订单号 12345678", "abc123456", "123456789012", "138 0013 8000"]
)
def test_codes_inside_longer_numbers_are_not_extracted(text: str) -> None:
    assert "otp_code" not in found(text)


def test_a_typed_code_is_read_from_an_answer() -> None:
    assert normalise_code("验证码是 482913") == "482913"
    assert normalise_code("验证码是 ４８２９１３") == "482913"
    assert normalise_code("no code") is None


# The spellings of the audit (issue 23, point 7) and the ones around them.
ID_SPELLINGS = (
    "身份证号11010519491231002X",
    "ID11010519491231002X",
    "110105.19491231.002X",
    "110105  19491231  002X",
    "110105\u300019491231\u3000002X",
    "card 2 110105 19491231 002X",
    "１１０１０５－１９４９－１２３１－００２Ｘ",
    "11010519491231002x",
)


@pytest.mark.parametrize("text", ID_SPELLINGS)
def test_id_numbers_in_every_spelling(text: str) -> None:
    assert found(text) == {"id_number": [ID_NUMBER]}
    masked = mask_personal(text)
    assert "19491231" not in masked.replace(" ", "").replace(".", "")
    assert "110***********002X" in masked.upper()


def test_id_numbers_need_a_valid_checksum_to_be_entities_but_are_masked_anyway() -> None:
    assert "id_number" not in found("110105194912310021")
    assert "19491231" not in mask_personal("110105194912310021")
    assert "491231" not in mask_personal("old card 110105491231002")


@pytest.mark.parametrize(
    "vin", ["WMWXR3100N2K12345", "LBV7R3101P5C34567", "WMW11DP0XL2A45678", "WBA5R110XM8B23456"]
)
def test_demo_vins(vin: str) -> None:
    assert is_valid_vin(vin)
    assert found(f"车架号 {vin.lower()}") == {"vin": [vin]}


def test_vin_check_digit_enforced_for_chinese_and_north_american_wmis() -> None:
    assert not is_valid_vin("LBV7R3102P5C34567")  # wrong check digit
    assert not is_valid_vin("1HGCM82633A004353")  # wrong check digit (real one is 2)
    assert is_valid_vin("1HGCM82633A004352")
    assert is_valid_vin("WBA5R1101M8B23456")  # European WMI: format only
    assert not is_valid_vin("WBA5R110IM8B23456")  # I is never used in VINs
    assert not is_valid_vin("12345678901234567")


def test_ticket_refs_are_normalised() -> None:
    assert found("工单号pr-2026-000123") == {"ticket_ref": ["PR-2026-000123"]}
    assert found("PR-2026-000123") == {"ticket_ref": ["PR-2026-000123"]}
    assert "ticket_ref" not in found("PR-2026-00012")
    # The six digits of a reference are not a code.
    assert "otp_code" not in found("PR-2026-000123")


def test_mask_mobile() -> None:
    assert mask_mobile("13800138000") == "138****8000"


def test_stored_text() -> None:
    text = "手机13800138000，验证码 123456，身份证11010519491231002X，工单PR-2026-000123"
    masked = mask_stored_text(text)
    assert "13800138000" not in masked and "138****8000" in masked
    assert "123456" not in masked and CODE_MASK in masked
    assert ID_NUMBER not in masked and "110***********002X" in masked
    assert "PR-2026-000123" in masked
    assert mask_stored_text("138 0013 8000") == "138****8000"
    assert mask_stored_text("") == ""
    assert mask_stored_text("没有号码") == "没有号码"


def test_what_is_not_personal_stays_readable() -> None:
    kept = "PR-2026-000123 WMWXR3100N2K12345 400-800-6699 021-6123-4567 I have 2 cars"
    assert mask_stored_text(kept) == kept
    assert mask_personal(kept) == kept
