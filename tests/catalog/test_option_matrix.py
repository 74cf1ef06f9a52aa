"""The option matrix: every combination of option values becomes one SKU with a generated,
readable, unique SKU code (PRODUCTCODE-BK-S)."""

from __future__ import annotations

import pytest

from catalog.services import axis_codes, option_matrix, option_matrix_errors, value_code
from tests.catalog.factories import SkuFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_two_colours_by_two_sizes_make_four_skus_in_order() -> None:
    rows = option_matrix(product_code="KN01", axes=[("색상", ["블랙", "아이보리"]), ("사이즈", ["S", "M"])])

    assert [r.suggested_code for r in rows] == ["KN01-BK-S", "KN01-BK-M", "KN01-IV-S", "KN01-IV-M"]
    assert [r.option_label for r in rows] == ["블랙 / S", "블랙 / M", "아이보리 / S", "아이보리 / M"]
    assert rows[0].option_values(["색상", "사이즈"]) == {"색상": "블랙", "사이즈": "S"}
    assert not any(r.clash for r in rows)


def test_a_product_without_options_gets_one_sku_coded_like_the_product() -> None:
    rows = option_matrix(product_code="DF01", axes=[])
    assert [(r.suggested_code, r.option_label, r.values) for r in rows] == [("DF01", "", ())]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("블랙", "BK"),
        ("아이보리", "IV"),
        ("FREE", "F"),
        ("프리", "F"),
        ("xl", "XL"),
        ("230mm", "230MM"),
        ("스트라이프", "STRIP"),
        ("우디", "UD"),
        ("1호", "1H"),
        ("  네이비 ", "NV"),
        ("♥", ""),
    ],
)
def test_value_codes_are_short_plain_latin(value: str, code: str) -> None:
    assert value_code(value) == code


def test_values_with_the_same_code_on_one_axis_are_told_apart() -> None:
    # 블랙 and 검정 both mean black; a symbol-only value falls back to its position.
    assert axis_codes(["블랙", "검정", "♥"]) == ["BK", "BK2", "3"]


def test_a_suggested_code_another_sku_holds_moves_to_the_next_free_number() -> None:
    SkuFactory.create(code="KN01-BK-S")
    SkuFactory.create(code="kn01-bk-s-2")  # taken too, in another case

    rows = option_matrix(product_code="KN01", axes=[("색상", ["블랙"]), ("사이즈", ["S", "M"])])

    assert [r.suggested_code for r in rows] == ["KN01-BK-S-3", "KN01-BK-M"]
    assert rows[0].clash == "KN01-BK-S"
    assert rows[1].clash == ""


def test_suggestions_never_repeat_within_one_matrix() -> None:
    rows = option_matrix(product_code="P", axes=[("색상", ["블랙", "검정", "black"])])
    codes = [r.suggested_code for r in rows]
    assert codes == ["P-BK", "P-BK2", "P-BLACK"]
    assert len(set(codes)) == len(codes)


def test_matrix_errors_name_the_axis_and_the_problem() -> None:
    errors = option_matrix_errors([("색상", ["블랙", "블랙"]), ("색상", ["S"]), ("", ["M"])])
    assert errors == {
        0: "“색상” lists 블랙 more than once.",
        1: "The option name “색상” is used twice.",
        2: "Name this option (e.g. colour).",
    }


def test_a_matrix_over_200_skus_is_refused() -> None:
    many = [str(n) for n in range(15)]
    errors = option_matrix_errors([("a", many), ("b", many)])
    assert errors == {0: "These options make 225 SKUs; at most 200 per product."}
    assert option_matrix_errors([("a", many), ("b", many[:13])]) == {}
