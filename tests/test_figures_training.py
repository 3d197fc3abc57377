"""Figures of training: curves, unit against latent, comparison bars and heatmaps."""

import numpy as np

from rnnviz.sources.training.run import load_pretrained
from rnnviz.views import figures


def history(n, offset=0.0):
    ramp = np.linspace(1, 0, n) + offset
    return {"loss": ramp, "val_loss": ramp + 0.1, "metric": 1 - ramp, "val_metric": 0.9 - ramp}


def test_training_curves_draw_training_solid_and_validation_dashed_per_run():
    fig = figures.training_curves({"LSTM": history(5), "GRU": history(5, 0.2)}, "accuracy")
    names = [t.name for t in fig.data]
    assert names.count("LSTM training") == 2 and names.count("GRU validation") == 2
    dashes = {t.name: t.line.dash for t in fig.data}
    assert dashes["LSTM training"] == "solid" and dashes["LSTM validation"] == "dash"
    assert list(fig.data[0].x) == [1, 2, 3, 4, 5]
    assert fig.layout.xaxis.title.text == "epoch"
    assert tuple(fig.layout.yaxis2.range) == (0, 1.02)


def test_unit_vs_latent_plots_the_units_h_and_the_latent_on_two_axes():
    run = load_pretrained("brackets", "lstm")
    trace = run.trace(-1)
    latent = run.validation.latent[:8]
    fig = figures.unit_vs_latent(trace, latent, unit=3, sample=2, latent_name="bracket depth")
    np.testing.assert_array_equal(fig.data[0].y, trace.h[0, 2, :, 3])
    np.testing.assert_array_equal(fig.data[1].y, latent[2])
    assert fig.data[1].yaxis == "y2"
    assert fig.layout.yaxis2.title.text == "bracket depth"


def test_state_heatmap_row_shares_one_scale_centred_on_zero():
    runs = {c: load_pretrained("remember", c).trace(-1) for c in ("lstm", "simple_rnn")}
    fig = figures.state_heatmap_row(runs, sample=0)
    assert len(fig.data) == 2
    assert fig.data[0].zmin == -fig.data[0].zmax == fig.data[1].zmin
    np.testing.assert_array_equal(fig.data[1].z, runs["simple_rnn"].h[0, 0].T)
