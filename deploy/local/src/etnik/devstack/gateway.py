"""Rendering deploy/gateway's nginx template and the small main config of a local nginx."""

from __future__ import annotations

import functools
import os
import pwd
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from etnik.devstack.paths import repo_root
from etnik.devstack.ports import SERVICE_NAMES

_TEMPLATE_NAME = re.compile(r"\$\{(ETNIK_[A-Z0-9_]+)\}")
_TEMP_PATH_MODULES = ("proxy", "fastcgi", "uwsgi", "scgi")


class TemplateError(ValueError):
    """The gateway template names a variable that was not given."""


def gateway_dir() -> Path:
    """deploy/gateway of the checkout."""
    return repo_root() / "deploy" / "gateway"


def template_path() -> Path:
    """The one template used by the nginx image and by the local stack."""
    return gateway_dir() / "templates" / "default.conf.template"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@functools.cache
def default_tuning() -> dict[str, str]:
    """Rate-limit defaults from deploy/gateway/gateway.env (shared with docker-compose)."""
    return read_env_file(gateway_dir() / "gateway.env")


def render(template: str, variables: Mapping[str, str]) -> str:
    """Replace ${ETNIK_*} names only; nginx's own $variables are left as they are."""
    missing = sorted(set(_TEMPLATE_NAME.findall(template)) - set(variables))
    if missing:
        raise TemplateError(f"the gateway template needs {', '.join(missing)}")
    return _TEMPLATE_NAME.sub(lambda match: variables[match.group(1)], template)


@dataclass(frozen=True)
class GatewayOptions:
    """Settings of the local gateway that are not ports; None means the gateway.env default."""

    web_root: Path | None = None
    rate_api: str | None = None
    rate_api_burst: int | None = None
    rate_auth: str | None = None
    rate_auth_burst: int | None = None


def template_variables(
    listen: str, upstreams: Mapping[str, str], options: GatewayOptions
) -> dict[str, str]:
    """Values of every template variable for a local run."""
    tuning = default_tuning()
    web_root = options.web_root or default_web_root()
    variables = {
        "ETNIK_GATEWAY_PORT": listen,
        "ETNIK_WEB_ROOT": str(web_root),
        "ETNIK_RATE_API": options.rate_api or tuning["ETNIK_RATE_API"],
        "ETNIK_RATE_API_BURST": str(options.rate_api_burst or tuning["ETNIK_RATE_API_BURST"]),
        "ETNIK_RATE_AUTH": options.rate_auth or tuning["ETNIK_RATE_AUTH"],
        "ETNIK_RATE_AUTH_BURST": str(options.rate_auth_burst or tuning["ETNIK_RATE_AUTH_BURST"]),
    }
    for name in SERVICE_NAMES:
        variables[f"ETNIK_{name.upper()}_UPSTREAM"] = upstreams[name]
    return variables


def default_web_root() -> Path:
    """$ETNIK_WEB_ROOT, else the portal's build (web/dist) if there, else web/."""
    explicit = os.environ.get("ETNIK_WEB_ROOT")
    if explicit:
        return Path(explicit).resolve()
    web = repo_root() / "web"
    return web / "dist" if (web / "dist").is_dir() else web


@functools.cache
def _nginx_build_options(nginx: str) -> str:
    result = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False)
    return result.stderr + result.stdout


def _mime_types_path(nginx: str) -> Path | None:
    match = re.search(r"--conf-path=(\S+)", _nginx_build_options(nginx))
    conf_dir = Path(match.group(1)).parent if match else Path("/etc/nginx")
    candidate = conf_dir / "mime.types"
    return candidate if candidate.is_file() else None


_FALLBACK_TYPES = """\
    types {
        text/html html; text/css css; application/javascript js mjs; application/json json map;
        image/svg+xml svg; image/png png; image/jpeg jpg jpeg; image/webp webp;
        image/x-icon ico; font/woff2 woff2; font/woff woff; text/plain txt;
        application/pdf pdf; application/manifest+json webmanifest;
    }"""


def write_main_config(nginx: str, prefix: Path, rendered_server: Path) -> Path:
    """The main nginx.conf of a local gateway, wrapping the rendered template in http {}."""
    temp = prefix / "temp"
    build = _nginx_build_options(nginx)
    temp_paths = [f'    client_body_temp_path "{temp / "client_body"}";']
    temp_paths += [
        f'    {module}_temp_path "{temp / module}";'
        for module in _TEMP_PATH_MODULES
        if f"--without-http_{module}_module" not in build
    ]
    mime_types = _mime_types_path(nginx)
    types = f'    include "{mime_types}";' if mime_types else _FALLBACK_TYPES
    # As root, nginx would run its workers as `nobody`, who may not read the checkout or the
    # test's private temp folders; a local gateway keeps the user that started it.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        "# Written by etnik-dev at every start of the local gateway; edits are lost.\n"
        f"{user}"
        "worker_processes 1;\n"
        f'pid "{prefix / "nginx.pid"}";\n'
        "error_log stderr warn;\n"
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        f"{types}\n"
        "    default_type application/octet-stream;\n"
        "    sendfile on;\n"
        "    keepalive_timeout 65;\n" + "\n".join(temp_paths) + "\n"
        f'    include "{rendered_server}";\n'
        "}\n"
    )
    return conf


def write_config(
    nginx: str, prefix: Path, listen: str, upstreams: Mapping[str, str], options: GatewayOptions
) -> Path:
    """Render the template and the main config into `prefix`; returns the main config's path."""
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    variables = template_variables(listen, upstreams, options)
    rendered = prefix / "etnik-gateway.conf"
    rendered.write_text(render(template_path().read_text(), variables))
    return write_main_config(nginx, prefix, rendered)


def command(nginx: str, prefix: Path, conf: Path) -> list[str]:
    """nginx in the foreground, with its prefix (relative paths, default logs) under `prefix`."""
    return [nginx, "-e", "stderr", "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"]
