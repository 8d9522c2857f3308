"""Recording from the window: the Record action, its panel with the live text, interrupted recordings offered."""
