"""What a character of Python source is part of: the quantities units of a char model track.

Each concept is a plain scanner of the text, with no Python tokenizer (a text can be any
fragment, unbalanced or cut in the middle of a string). The rules:

- `in_string`: 1 for the characters of a string literal, its quotes included; prefix
  letters (`r`, `b`, `f`, `u`) are not. `'''` and `\"\"\"` open strings that run to the same
  triple quote, across lines; `'` and `"` strings end at their quote or, unterminated, at
  the end of the line. A backslash inside a string escapes the next character (also in
  raw strings, as Python's tokenizer does for quotes).
- `in_comment`: 1 from a `#` outside a string to the end of the line (the newline is not).
- `bracket_depth`: how many of `(`, `[`, `{` are open after the character, counting only
  brackets outside strings and comments; never below 0 (stray closers are ignored).
- `indent`: the indentation width of the character's line: leading spaces count 1, a tab
  moves to the next multiple of 8 (Python's rule); every character of the line, and the
  newline that ends it, gets the line's value.
- `line_position`: the character's column, 0 at the start of its line.

Example:
    >>> CONCEPTS["bracket_depth"]("f(a[1])")
    array([0., 1., 1., 2., 2., 1., 0.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

OPENERS, CLOSERS = "([{", ")]}"
TAB = 8


def _scan(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (in_string, in_comment, bracket_depth) of every character."""
    n = len(text)
    in_string = np.zeros(n, np.float32)
    in_comment = np.zeros(n, np.float32)
    depth = np.zeros(n, np.float32)
    level = 0
    i = 0
    while i < n:
        ch = text[i]
        if ch == "#":
            while i < n and text[i] != "\n":
                in_comment[i] = 1
                depth[i] = level
                i += 1
            continue
        if ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            start = i
            i += len(quote)
            while i < n:
                if text[i] == "\\":
                    i += 2
                elif text.startswith(quote, i):
                    i += len(quote)
                    break
                elif len(quote) == 1 and text[i] == "\n":
                    break  # unterminated single-quoted string: ends with its line
                else:
                    i += 1
            end = min(i, n)
            in_string[start:end] = 1
            depth[start:end] = level
            continue
        if ch in OPENERS:
            level += 1
        elif ch in CLOSERS:
            level = max(0, level - 1)
        depth[i] = level
        i += 1
    return in_string, in_comment, depth


def in_string(text: str) -> np.ndarray:
    """Returns 1 for characters inside a string literal (quotes included), else 0."""
    return _scan(text)[0]


def in_comment(text: str) -> np.ndarray:
    """Returns 1 for characters of a comment (from `#` to the end of its line), else 0."""
    return _scan(text)[1]


def bracket_depth(text: str) -> np.ndarray:
    """Returns how many brackets are open after each character (outside strings/comments)."""
    return _scan(text)[2]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def indent(text: str) -> np.ndarray:
    """Returns each character's line indentation width (tabs to the next multiple of 8)."""
    out = np.zeros(len(text), np.float32)
    pos = 0
    for line in _lines(text):
        width = 0
        for ch in line:
            if ch == " ":
                width += 1
            elif ch == "\t":
                width = (width // TAB + 1) * TAB
            else:
                break
        out[pos : pos + len(line)] = width
        pos += len(line)
    return out


def line_position(text: str) -> np.ndarray:
    """Returns each character's column in its line, from 0."""
    out = np.zeros(len(text), np.float32)
    pos = 0
    for line in _lines(text):
        out[pos : pos + len(line)] = np.arange(len(line))
        pos += len(line)
    return out


#: Concept name -> function(text) -> float32 array of len(text).
CONCEPTS: dict[str, Callable[[str], np.ndarray]] = {
    "in_string": in_string,
    "in_comment": in_comment,
    "bracket_depth": bracket_depth,
    "indent": indent,
    "line_position": line_position,
}

#: Words for a picker.
CONCEPT_TITLES = {
    "in_string": "in a string",
    "in_comment": "in a comment",
    "bracket_depth": "bracket depth",
    "indent": "indentation",
    "line_position": "position in the line",
}
