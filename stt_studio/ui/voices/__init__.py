"""The Voice library window: its service (this machine's library or a server's), the dialog, and what drives it."""
