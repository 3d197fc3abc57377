"""Stateful training on a long stream: how batches are laid out (`layout`: the function
`layout.layout`), the stream tasks (`streams`) and training and evaluating a network in each
layout (`training`: `train_stateful`, `StatefulRun`, `load_stateful`)."""

from rnnviz.sources.stateful.training import StatefulRun, load_stateful, train_stateful

__all__ = ["StatefulRun", "load_stateful", "train_stateful"]
