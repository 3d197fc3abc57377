"""Built-in tasks (`tasks`) and training on them with Keras's own fit loop, every epoch kept
(`run`: `train`, `TrainingRun`, the shipped checkpoints)."""
