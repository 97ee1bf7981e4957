"""Run the notification service: python -m etnik.notification --host H --port P."""

from etnik.common.app import serve


def main() -> None:
    """Start the HTTP server, the Kafka broker and the dispatcher in one process."""
    serve("etnik.notification.main:create_app", default_port=8002)


if __name__ == "__main__":
    main()
