"""EtNik notification service: messages to people, in their own time zone."""
