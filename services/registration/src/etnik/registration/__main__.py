"""Run the registration service: python -m etnik.registration --host H --port P."""

from etnik.common.app import serve


def main() -> None:
    """Start the HTTP server and the Kafka broker in one process."""
    serve("etnik.registration.main:create_app", default_port=8001)


if __name__ == "__main__":
    main()
