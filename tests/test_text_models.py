"""The shipped char models: intact, loadable without running code, and as good as recorded."""

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
