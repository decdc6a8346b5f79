"""Embedding encoders, triplet mining and export, training, evaluation, the model registry."""
