"""The first-run welcome step: this machine's hardware, a recommended model with measured speeds, its download."""
