"""Terminal user interfaces: the live dashboard (dashboard.py), plain event lines (plain.py) and
notifications (notify.py)."""
