#!/usr/bin/env bash
# Installs helm, which renders and lints the Kubernetes chart offline: built from the Go
# module proxy into the git-ignored .local/bin. (promtool comes with `etnik-dev fetch`.)
# Safe to run again: helm is built only when the pinned version is missing.
set -euo pipefail

HELM_VERSION="v3.22.0"
# The Kubernetes version that helm v3.22 is built against (k8s.io/client-go v0.37), stamped
# as Helm's release builds do; the tests pass --kube-version anyway.
HELM_KUBE_MAJOR="1"
HELM_KUBE_MINOR="37"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.local/bin"
HELM="$BIN/helm"

installed_helm_version() {
    "$HELM" version --template '{{.Version}}' 2>/dev/null || true
}

if [[ -x "$HELM" && "$(installed_helm_version)" == "$HELM_VERSION" ]]; then
    echo "helm $HELM_VERSION already in .local/bin"
else
    if ! command -v go >/dev/null 2>&1; then
        echo "install-tools: Go is needed to build helm $HELM_VERSION" >&2
        exit 1
    fi
    echo "building helm $HELM_VERSION into .local/bin (a few minutes the first time)"
    mkdir -p "$BIN"
    # The same version stamps as Helm's Makefile sets, so that `helm version` tells the truth.
    ldflags="-s -w"
    ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_KUBE_MAJOR"
    ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR"
    ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_KUBE_MAJOR"
    ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR"
    GOBIN="$BIN" CGO_ENABLED=0 \
        go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    echo "installed $("$HELM" version --short)"
fi

