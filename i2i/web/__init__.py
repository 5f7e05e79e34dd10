"""The pages and HTTP servers of ``i2i serve`` and ``i2i study`` (the page assets are package data here)."""
