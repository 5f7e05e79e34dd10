"""Data: image files, pair datasets, augmentation, sampling, and getting a task's data into the cache."""
