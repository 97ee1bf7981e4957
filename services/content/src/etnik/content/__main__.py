"""Run the content service: python -m etnik.content --host H --port P."""

from etnik.common.app import serve


def main() -> None:
    """Start the HTTP server and the Kafka broker in one process."""
    serve("etnik.content.main:create_app", default_port=8003)


if __name__ == "__main__":
    main()
