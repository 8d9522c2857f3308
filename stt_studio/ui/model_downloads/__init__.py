"""Settings → Models: the models on this machine, their downloads (progress, speed, time left, cancel) and removal."""
