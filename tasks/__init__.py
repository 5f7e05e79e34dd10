"""i2i's built-in tasks (imported as ``i2i_tasks``), registered through entry points like any plugin."""
