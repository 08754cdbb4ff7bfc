from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.identifiers import (
    CODE_MASK,
    ID_MASK,
    IdentifierExtractor,
    find_identifiers,
    is_valid_vin,
    mask_mobile,
    redact,
)


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
    ],
)
def test_mobiles(text: str) -> None:
    assert found(text) == {"mobile": ["13800138000"]}


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


def test_id_numbers_need_a_valid_checksum() -> None:
    assert found("身份证号11010519491231002X") == {"id_number": ["11010519491231002X"]}
    assert found("11010519491231002x") == {"id_number": ["11010519491231002X"]}
    assert "id_number" not in found("110105194912310021")


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


def test_redact() -> None:
    text = "手机13800138000，验证码 123456，身份证11010519491231002X，工单PR-2026-000123"
    redacted = redact(text)
    assert "13800138000" not in redacted and "138****8000" in redacted
    assert "123456" not in redacted and CODE_MASK in redacted
    assert "11010519491231002X" not in redacted and ID_MASK in redacted
    assert "PR-2026-000123" in redacted
    assert redact("138 0013 8000") == "138****8000"
    assert redact("") == ""
    assert redact("没有号码") == "没有号码"


def test_redact_masks_id_numbers_with_bad_checksums_too() -> None:
    assert "110105194912310021" not in redact("110105194912310021")


def test_component_adds_entities() -> None:
    message = Message(data={"text": "我的手机号是138 0013 8000"})
    IdentifierExtractor().process([message])
    (entity,) = message.get("entities")
    assert entity["entity"] == "mobile"
    assert entity["value"] == "13800138000"
    assert (entity["start"], entity["end"]) == (6, 19)
    assert entity["extractor"] == "IdentifierExtractor"
