import pytest

from orders.normalize import is_mobile, normalize_address, normalize_phone, normalize_zip


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("010-1234-5678", "01012345678"),
        ("+82 10-1234-5678", "01012345678"),
        ("+82-2-123-4567", "021234567"),
        (1012345678, "01012345678"),
        (1012345678.0, "01012345678"),
        ("1012345678", "01012345678"),
        ("212345678", "0212345678"),
        (" 010 1234 5678 ", "01012345678"),
        ("1588-1234", "15881234"),
        ("", ""),
        (None, ""),
    ],
)
def test_phones_are_digits_with_the_leading_zero_restored(raw: object, digits: str) -> None:
    assert normalize_phone(raw).digits == digits


def test_safe_numbers_are_flagged_and_masked_ones_noticed() -> None:
    assert normalize_phone("0504-2011-4166").is_safe_number
    assert normalize_phone("050712345678").is_safe_number
    masked = normalize_phone("0502-****-1234")
    assert masked.is_safe_number and masked.is_masked
    assert not normalize_phone("010-2011-4166").is_safe_number
    assert normalize_phone("010-2011-4166").last4 == "4166"
    assert is_mobile("01020114166") and not is_mobile("0212345678")


@pytest.mark.parametrize(
    ("raw", "code", "old", "valid"),
    [
        ("04524", "04524", False, True),
        (4524, "04524", False, True),
        (4524.0, "04524", False, True),
        ("135-080", "135-080", True, True),
        ("135080", "135-080", True, True),
        ("", "", False, False),
        ("12", "12", False, False),
    ],
)
def test_zip_codes(raw: object, code: str, old: bool, valid: bool) -> None:
    z = normalize_zip(raw)
    assert (z.code, z.is_old, z.valid) == (code, old, valid)


def test_addresses_collapse_whitespace() -> None:
    assert normalize_address("서울  중구 ", "\t세종대로 110") == "서울 중구 세종대로 110"
