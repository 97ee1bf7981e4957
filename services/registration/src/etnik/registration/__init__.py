"""EtNik registration service: programme, people, identity and registrations."""
