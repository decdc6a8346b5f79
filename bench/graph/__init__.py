"""Precision of the resolved code graph against independent references (see ``precision``)."""
