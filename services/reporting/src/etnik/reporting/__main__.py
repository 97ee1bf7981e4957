"""Run the reporting service: python -m etnik.reporting --host H --port P."""

from etnik.common.app import serve


def main() -> None:
    """Start the HTTP server and the Kafka broker in one process."""
    serve("etnik.reporting.main:create_app", default_port=8004)


if __name__ == "__main__":
    main()
