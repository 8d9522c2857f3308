"""Job queue shared by the API, the worker and the desktop app: one place owns job state."""
