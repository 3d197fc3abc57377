"""Character n-gram baselines: unigram and interpolated Kneser-Ney, in plain Python.

They are what a recurrent character model must beat to have learnt more than local
spelling: both are fitted on the training text and scored in bits per character.

Example:
    >>> lm = KneserNey(order=3).fit("abracadabra")
    >>> round(lm.bits_per_char("abra"), 2) < round(unigram_bits_per_char("abracadabra", "abra"), 2)
    True
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict


def unigram_bits_per_char(train: str, test: str, vocab: set[str] | None = None) -> float:
    """Returns bits/char of add-one smoothed character frequencies of `train` on `test`."""
    counts = Counter(train)
    symbols = set(vocab or counts) | set(test)
    total = len(train) + len(symbols)
    return -sum(math.log2((counts[ch] + 1) / total) for ch in test) / len(test)


class KneserNey:
    """Interpolated Kneser-Ney character model (Chen & Goodman 1998), one discount per order.

    p(c | h) = max(N(h c) - D, 0) / N(h) + D * T(h) / N(h) * p(c | h[1:]), where N are
    counts (continuation counts below the top order), T(h) the number of distinct
    characters seen after h; the lowest order falls back to uniform over the vocabulary.
    """

    def __init__(self, order: int = 5):
        self.order = order

    def fit(self, text: str) -> KneserNey:
        """Counts n-grams of `text`; returns self."""
        n = self.order
        self.vocab = set(text)
        top: Counter[str] = Counter(text[i : i + n] for i in range(len(text) - n + 1))
        # Counts per order: the top order's are raw counts; lower orders use continuation
        # counts (how many distinct characters precede the n-gram).
        counts: list[Counter[str]] = [Counter() for _ in range(n + 1)]
        counts[n] = top
        for k in range(n, 1, -1):
            for gram in counts[k]:
                counts[k - 1][gram[1:]] += 1
        self.counts = counts
        self.context_total: list[dict[str, int]] = [defaultdict(int) for _ in range(n + 1)]
        self.context_types: list[dict[str, int]] = [defaultdict(int) for _ in range(n + 1)]
        for k in range(1, n + 1):
            for gram, c in counts[k].items():
                self.context_total[k][gram[:-1]] += c
                self.context_types[k][gram[:-1]] += 1
        self.discount = [0.0] * (n + 1)
        for k in range(1, n + 1):
            n1 = sum(1 for c in counts[k].values() if c == 1)
            n2 = sum(1 for c in counts[k].values() if c == 2)
            self.discount[k] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
        return self

    def prob(self, context: str, ch: str) -> float:
        """Returns p(ch | the last order-1 characters of context)."""
        p = 1.0 / (len(self.vocab) + 1)  # uniform, with one slot for unseen characters
        start = max(0, len(context) - self.order + 1)
        for k in range(1, self.order + 1):
            h = context[len(context) - (k - 1) :] if k > 1 else ""
            if len(h) != k - 1 or len(context) - start < k - 1:
                break
            total = self.context_total[k].get(h, 0)
            if total == 0:
                continue  # unseen context: keep the lower order's estimate
            d = self.discount[k]
            count = self.counts[k].get(h + ch, 0)
            p = max(count - d, 0.0) / total + d * self.context_types[k][h] / total * p
        return p

    def bits_per_char(self, text: str, history: str = "") -> float:
        """Returns the mean -log2 p of each character of text given what precedes it."""
        full = history + text
        offset = len(history)
        n = self.order - 1
        total = 0.0
        for i in range(offset, len(full)):
            total -= math.log2(self.prob(full[max(0, i - n) : i], full[i]))
        return total / len(text)
