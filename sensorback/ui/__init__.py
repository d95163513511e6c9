"""Terminal user interfaces: the live dashboard (dashboard.py) and notifications (notify.py)."""
