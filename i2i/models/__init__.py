"""Trained models: the model dir, its card, Hub sharing, translation at any size, export."""
