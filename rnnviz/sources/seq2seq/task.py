"""The addition task of Keras's `addition_rnn` example, as a sequence-to-sequence problem.

A question is two whole numbers and a plus sign, "123+45"; the answer is their sum, "168".
The encoder reads the question padded with spaces to `question_length(digits)` characters;
the decoder reads "=" then the answer so far and predicts the next character, "." when the
answer is complete. The answer depends on every character of the question, so the state
handed from the encoder to the decoder must carry all of it.
"""

from __future__ import annotations

import numpy as np

from rnnviz.core.config import ConfigError, Described

#: Index 0 is the padding space; "=" starts the decoder, "." ends an answer.
VOCAB = " 0123456789+=."
PAD, START, END = " ", "=", "."
INDEX = {ch: i for i, ch in enumerate(VOCAB)}
#: Trained on numbers of 1 to 3 digits: questions of at most 7 characters.
TRAINED_DIGITS = 3
#: The longest question the page and the API take (two 7-digit numbers and the plus).
MAX_QUESTION = 15


def question_length(digits: int = TRAINED_DIGITS) -> int:
    """The padded length of a question of two numbers of up to `digits` digits."""
    return 2 * digits + 1


def answer_length(digits: int = TRAINED_DIGITS) -> int:
    """The decoder's steps for such a question: the sum's digits and the end mark."""
    return digits + 2


def pairs(num: int, seed: int, digits: int = TRAINED_DIGITS, exact: bool = False):
    """`num` questions and their answers: each number has 1..`digits` digits, equally often
    (or exactly `digits` with `exact`), drawn with NumPy's generator from `seed`."""
    rng = np.random.default_rng(seed)
    low = digits if exact else 1
    sizes = rng.integers(low, digits + 1, (2, num))
    a = [int(rng.integers(0 if n == 1 else 10 ** (n - 1), 10**n)) for n in sizes[0]]
    b = [int(rng.integers(0 if n == 1 else 10 ** (n - 1), 10**n)) for n in sizes[1]]
    return [f"{x}+{y}" for x, y in zip(a, b, strict=True)], [
        str(x + y) for x, y in zip(a, b, strict=True)
    ]


def to_ids(texts: list[str], length: int) -> np.ndarray:
    """Token ids (len(texts), length), right-padded with the space (id 0)."""
    out = np.zeros((len(texts), length), np.int32)
    for i, text in enumerate(texts):
        out[i, : len(text)] = [INDEX[ch] for ch in text]
    return out


def to_text(ids) -> str:
    """The characters of token ids."""
    return "".join(VOCAB[int(i)] for i in ids)


def check_question(text) -> str:
    """The question with surrounding spaces removed, or a ConfigError that names what is
    wrong: empty, longer than MAX_QUESTION, or characters outside the vocabulary."""
    if not isinstance(text, str):
        raise ConfigError("question", Described(type(text).__name__), "must be text")
    stripped = text.strip()
    if not stripped:
        raise ConfigError("question", text, "must not be empty: type a sum such as 123+45")
    if len(stripped) > MAX_QUESTION:
        raise ConfigError(
            "question",
            Described(f"{len(stripped)} characters"),
            f"must be at most {MAX_QUESTION} characters long",
        )
    unknown = sorted({ch for ch in stripped if ch not in INDEX or ch in (START, END)})
    if unknown:
        names = ", ".join(repr(ch) for ch in unknown)
        raise ConfigError(
            "question",
            Described(f"characters {names}"),
            "may hold only the digits 0-9, '+' and spaces",
        )
    return stripped


def check_answer(text, field: str = "teacher") -> str:
    """An answer the decoder can be forced with: digits only, at most MAX_QUESTION."""
    if not isinstance(text, str):
        raise ConfigError(field, Described(type(text).__name__), "must be text")
    stripped = text.strip()
    if not stripped or not stripped.isdigit() or not stripped.isascii():
        raise ConfigError(field, text, "must be a whole number written in digits, such as 168")
    if len(stripped) > MAX_QUESTION:
        raise ConfigError(
            field, Described(f"{len(stripped)} digits"), f"must be at most {MAX_QUESTION} digits"
        )
    return stripped


def padded_length(question: str) -> int:
    """The encoder's steps for a question: the trained 7, or longer for longer numbers (as
    many as two numbers of the longest digit count in it would need)."""
    longest = max((len(part) for part in question.split("+")), default=1)
    return max(question_length(TRAINED_DIGITS), question_length(longest), len(question))


def true_answer(question: str) -> str | None:
    """The sum, for a question of the form a+b (None for anything else, such as "12+")."""
    parts = question.replace(" ", "").split("+")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return str(int(parts[0]) + int(parts[1]))
