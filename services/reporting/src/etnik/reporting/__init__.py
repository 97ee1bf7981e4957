"""EtNik reporting service: statistics and grant reports built from the event streams."""
