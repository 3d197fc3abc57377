"""Links built in Python use the format Streamlit's bind='query-params' reads."""

from urllib.parse import parse_qs, urlparse

import rnnviz
from rnnviz.views.urlstate import share_link, to_query


def test_query_uses_shown_labels_toggles_and_repeated_indices():
    cfg = rnnviz.RunConfig(cell="gru", stateful=True, num_batches=4, reset_before=(1, 3))
    query = to_query(cfg, "carry")
    assert query["cell"] == "GRU"
    assert query["view"] == "State across batches"
    assert query["stateful"] == "true" and query["return_state"] == "true"
    assert query["reset_before"] == ["1", "3"]


def test_share_link_round_trips_every_field():
    cfg = rnnviz.RunConfig(cell="simple_rnn", hidden_size=3, reset_before=(2,), seed=9)
    params = parse_qs(urlparse(share_link("http://localhost:8501/", cfg, "step")).query)
    assert params["cell"] == ["SimpleRNN"] and params["view"] == ["Step inspector"]
    assert params["hidden_size"] == ["3"] and params["seed"] == ["9"]
    assert params["reset_before"] == ["2"]
    assert set(params) == set(cfg.to_dict()) | {"view"}


def test_read_query_accepts_the_usual_spellings_of_choices_numbers_and_toggles():
    from rnnviz.views.urlstate import read_query

    values, notices = read_query(
        {
            "cell": ["gru"],
            "hidden_size": ["8.0"],
            "batch_size": ["+3"],
            "stateful": ["TRUE"],
            "view": ["gates"],
            "signal": ["Random"],
        }
    )
    assert values == {
        "cell": "gru",
        "hidden_size": 8,
        "batch_size": 3,
        "stateful": True,
        "view": "gates",
        "signal": "random",
    }
    assert notices == []


def test_read_query_names_every_parameter_it_cannot_honour_and_what_it_used():
    from rnnviz.views.urlstate import read_query

    values, notices = read_query(
        {
            "num_steps": ["nan"],
            "hidden_size": ["5000"],
            "bogus": ["1"],
            "cell": ["rnn"],
            "unit": ["99"],
        }
    )
    assert values == {}
    assert notices == [
        "num_steps=nan is not a whole number from 1 to 2000: used 5",
        "hidden_size=5000 is not a whole number from 1 to 1024: used 8",
        "bogus=1 is not a parameter of this page: ignored",
        "cell=rnn is not one of gru, lstm, simple_rnn: used LSTM",
        "unit=99 is beyond 7: used 0",
    ]
