"""Every pinned version of the local stack, in one place."""

from __future__ import annotations

# Apache Kafka from Maven Central (deploy/local/kafka/pom.xml takes these as properties).
KAFKA_VERSION = "4.1.1"
# log4j2 backend for Kafka's slf4j 1.x logging, so that the broker's log goes to a file.
LOG4J_VERSION = "2.24.3"

# FerretDB v1 (SQLite backend), built from the Go module proxy.
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"

# Mailpit (SMTP server with an HTTP API), built from the Go module proxy.
MAILPIT_MODULE = "github.com/axllent/mailpit"
MAILPIT_VERSION = "v1.33.1"

# Oldest toolchains that build and run the above.
JAVA_MIN_MAJOR = 17
GO_MIN_VERSION = (1, 26)  # mailpit v1.33.1 declares `go 1.26.0`

# Debian packages installed when a tool is missing and we may use apt-get.
DEBIAN_PACKAGES = {
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
    "nginx": "nginx-light",
    # Checks alert rules and the Prometheus configuration in the tests.
    "promtool": "prometheus",
    # The browser the end-to-end tests drive with Playwright (its own download cannot work here).
    "chromium": "chromium",
}

# FerretDB's PostgreSQL store (the local default: see docs/benchmarks.md, "The local store").
POSTGRESQL_PACKAGE = "postgresql-15"

# Cyrillic TrueType font for the PDFs the services render (reports, strategies, collections).
CYRILLIC_FONT_PACKAGE = "fonts-dejavu-core"
CYRILLIC_FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# Maven plugin that copies the Kafka jars (named with its version, so Maven's default is not used).
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
