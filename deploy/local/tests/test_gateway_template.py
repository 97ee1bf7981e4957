"""The gateway template: one file for the nginx image's envsubst and for etnik-dev's renderer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from etnik.devstack.gateway import TemplateError, default_tuning, render, template_path

TEMPLATE = template_path().read_text()
VARIABLES = {
    "ETNIK_GATEWAY_PORT": "8080",
    "ETNIK_REGISTRATION_UPSTREAM": "registration:8000",
    "ETNIK_NOTIFICATION_UPSTREAM": "notification:8000",
    "ETNIK_CONTENT_UPSTREAM": "content:8000",
    "ETNIK_REPORTING_UPSTREAM": "reporting:8000",
    "ETNIK_WEB_ROOT": "/usr/share/nginx/html",
    **default_tuning(),
}


def test_only_etnik_names_are_template_variables() -> None:
    # envsubst in the nginx image replaces any set variable written $NAME or ${NAME}; nginx's
    # own variables are lower case, so only upper-case names could ever collide.
    braced = set(re.findall(r"\$\{([^}]*)\}", TEMPLATE))
    assert braced == set(VARIABLES)
    assert not re.findall(r"\$[A-Z_][A-Z0-9_]*\b", TEMPLATE.replace("${", "{"))


def test_render_keeps_nginx_variables() -> None:
    rendered = render(TEMPLATE, VARIABLES)
    assert "${" not in rendered
    assert "server registration:8000;" in rendered
    assert "rate=20r/s;" in rendered
    assert "$binary_remote_addr" in rendered
    assert "$etnik_request_id" in rendered
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in rendered


def test_render_refuses_a_missing_variable() -> None:
    incomplete = {key: value for key, value in VARIABLES.items() if key != "ETNIK_RATE_AUTH"}
    with pytest.raises(TemplateError, match="ETNIK_RATE_AUTH"):
        render(TEMPLATE, incomplete)


def test_render_ignores_names_it_was_not_given() -> None:
    assert render("a ${OTHER} $host ${ETNIK_X}", {"ETNIK_X": "x"}) == "a ${OTHER} $host x"


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
def test_envsubst_of_the_nginx_image_renders_the_same() -> None:
    # The image's entrypoint substitutes every variable of its environment (unless filtered).
    env = {**os.environ, **VARIABLES}
    every_variable = " ".join(f"${{{name}}}" for name in env)
    rendered = subprocess.run(
        ["envsubst", every_variable],
        input=TEMPLATE,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rendered == render(TEMPLATE, VARIABLES)
