"""The concept scanners on hand-written Python, expected arrays written out."""

import numpy as np

from rnnviz.sources.text.concepts import (
    CONCEPTS,
    bracket_depth,
    in_comment,
    in_string,
    indent,
    line_position,
)


def ones_at(text, marked):
    """1 where `marked` (the same length as text) has a non-space character."""
    assert len(marked) == len(text)
    return np.array([0 if m == " " else 1 for m in marked], np.float32)


def test_nested_brackets_count_after_each_character():
    np.testing.assert_array_equal(
        bracket_depth("f(a[1], {2})"), [0, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 0]
    )


def test_a_stray_closing_bracket_never_makes_the_depth_negative():
    np.testing.assert_array_equal(bracket_depth(")(x"), [0, 1, 1])


def test_a_hash_inside_a_string_is_not_a_comment():
    text = 's = "a#b"  # real'
    np.testing.assert_array_equal(in_string(text), ones_at(text, "    #####        "))
    np.testing.assert_array_equal(in_comment(text), ones_at(text, "           ######"))


def test_a_comment_after_code_runs_to_the_end_of_its_line_only():
    text = "x = 1  # one\ny = 2"
    np.testing.assert_array_equal(in_comment(text), ones_at(text, "       #####      "))


def test_triple_quoted_strings_span_lines_and_hide_brackets_and_quotes():
    text = "d = '''a\n(b' ''' + f(1)"
    np.testing.assert_array_equal(in_string(text), ones_at(text, "    ############       "))
    np.testing.assert_array_equal(bracket_depth(text), [0] * 16 + [0, 0, 0, 0, 1, 1, 0])


def test_an_escaped_quote_does_not_end_a_string():
    text = r'"a\"b" + c'
    np.testing.assert_array_equal(in_string(text), ones_at(text, "######    "))


def test_an_unterminated_single_quoted_string_ends_with_its_line():
    text = "'abc\nx"
    np.testing.assert_array_equal(in_string(text), [1, 1, 1, 1, 0, 0])


def test_indent_counts_spaces_and_tabs_to_the_next_multiple_of_8():
    text = "a\n    b\n\tc\n  \td\n"
    expected = [0, 0] + [4] * 6 + [8] * 3 + [8] * 5
    np.testing.assert_array_equal(indent(text), expected)


def test_line_position_restarts_after_each_newline():
    np.testing.assert_array_equal(line_position("ab\ncde\n"), [0, 1, 2, 0, 1, 2, 3])


def test_every_concept_returns_one_float_per_character():
    text = "def f(x):\n    return 'y'  # z\n"
    for name, concept in CONCEPTS.items():
        values = concept(text)
        assert values.shape == (len(text),), name
        assert values.dtype == np.float32, name
    assert all(CONCEPTS[name]("").shape == (0,) for name in CONCEPTS)
