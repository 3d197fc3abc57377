"""Keras callbacks of rnnviz (importing this module imports Keras).

    from rnnviz.callbacks import RecordStates
    model.fit(x, y, validation_data=(xv, yv), callbacks=[RecordStates("runs/exp1")])
"""

from rnnviz.sources.recorded.callback import RecordingError, RecordStates

__all__ = ["RecordStates", "RecordingError"]
