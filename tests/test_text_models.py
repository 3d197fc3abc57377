"""The shipped char models: intact, loadable without running code, and as good as recorded."""

import math

import pytest

from rnnviz.sources.text import charmodel as T
from rnnviz.sources.training.run import sha256_of

ENTRIES = T.read_manifest().get("text", {})


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_shipped_char_model_reproduces_its_recorded_validation_bits_per_char(name):
    entry = ENTRIES[name]
    cm = T.load_char_model(entry["cell"])
    assert cm.vocab == entry["vocab"] and cm.units == entry["units"]
    bits = T.corpus_bits_per_char(cm, T.split_text()[1])
    assert bits == pytest.approx(entry["val_bits_per_char"], abs=1e-3)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_shipped_char_model_matches_its_sha256_and_size_budget(name):
    ((file, info),) = ENTRIES[name]["files"].items()
    path = T.MODELS_DIR / file
    assert sha256_of(path) == info["sha256"]
    assert path.stat().st_size <= 10 * 2**20


def test_the_char_models_were_trained_on_the_shipped_corpus():
    for entry in ENTRIES.values():
        assert entry["corpus_sha256"] == T.corpus_sha256()


def test_the_lstm_beats_the_kneser_ney_5_gram_on_validation_text():
    baselines = T.read_manifest()["text_baselines"]
    lstm = ENTRIES["text_lstm"]["val_bits_per_char"]
    assert lstm < baselines["kneser_ney_5gram_bits_per_char"] < baselines["unigram_bits_per_char"]


def test_kneser_ney_probabilities_sum_to_one_over_the_vocabulary():
    from rnnviz.sources.text.ngram import KneserNey

    lm = KneserNey(order=3).fit("abracadabra cadabra")
    for context in ("ab", "ra", "zz", ""):
        total = sum(lm.prob(context, ch) for ch in lm.vocab) + lm.prob(context, "\x00")
        assert total == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_probabilities_are_the_counts_of_a_small_text_written_out():
    from rnnviz.sources.text.ngram import KneserNey

    # "abracadabra", order 2. Bigram counts: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1, so
    # D2 = n1 / (n1 + 2 n2) = 4 / (4 + 6) = 0.4. Continuation counts of the last character
    # (distinct bigram types ending in it): a 3 (ra, ca, da), b 1, r 1, c 1, d 1: total 7,
    # 5 types, D1 = 4 / (4 + 0) = 1. Uniform below: 1 / (5 characters + 1 unseen).
    lm = KneserNey(order=2).fit("abracadabra")
    uniform = 1 / 6
    unigram_b = max(1 - 1.0, 0) / 7 + 1.0 * 5 / 7 * uniform
    unigram_a = max(3 - 1.0, 0) / 7 + 1.0 * 5 / 7 * uniform
    unigram_x = 0 / 7 + 1.0 * 5 / 7 * uniform
    # after "a": seen 4 times (ab 2, ac 1, ad 1), 3 different followers
    assert lm.prob("a", "b") == pytest.approx((2 - 0.4) / 4 + 0.4 * 3 / 4 * unigram_b)
    assert lm.prob("a", "x") == pytest.approx(0.4 * 3 / 4 * unigram_x)
    # after "r": seen twice (ra 2), 1 follower
    assert lm.prob("r", "a") == pytest.approx((2 - 0.4) / 2 + 0.4 * 1 / 2 * unigram_a)
    # bits per character of "ab" after "r": p(a | r) and p(b | a)
    expected = -(math.log2(lm.prob("r", "a")) + math.log2(lm.prob("a", "b"))) / 2
    assert lm.bits_per_char("ab", history="r") == pytest.approx(expected)


def test_the_unigram_baseline_is_add_one_frequencies_written_out():
    from rnnviz.sources.text.ngram import unigram_bits_per_char

    # train "aab": a 2, b 1; symbols {a, b} and the test's c: total 3 + 3 = 6
    expected = -(math.log2(3 / 6) + math.log2(1 / 6)) / 2  # test "ac"
    assert unigram_bits_per_char("aab", "ac") == pytest.approx(expected)
