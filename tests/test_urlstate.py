"""Links built in Python use the format Streamlit's bind='query-params' reads."""

from urllib.parse import parse_qs, urlparse

import rnnviz
from rnnviz.urlstate import share_link, to_query


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
