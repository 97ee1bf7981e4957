"""EtNik shared kernel: infrastructure plumbing shared by every service, and no business logic."""
