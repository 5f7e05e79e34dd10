"""i2i's built-in components (imported as ``i2i_plugins``), registered through entry points like any plugin."""
