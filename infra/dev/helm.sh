#!/usr/bin/env bash
# Dev/test Helm: the `helm` command line built from source with the Go toolchain, through the Go
# module proxy (no release downloads here). fillstream uses it to lint and render its chart
# (helm/fillstream) in `make test`; it never talks to a cluster here.
#
#   helm.sh fetch        build the pinned helm once into .cache/helm/<version>/bin/helm
#   helm.sh bin          print the path of that binary (building it first if missing)
#   helm.sh version      print the pinned version
#   helm.sh ARGS...      run `helm ARGS...` (e.g. `helm.sh lint helm/fillstream`,
#                        `helm.sh template fillstream helm/fillstream --set partitions=2`)
#
# stdout carries only the path (bin) or helm's own output; messages go to stderr. Helm's config,
# cache and data dirs default to .cache/helm/<version>/home, so a run leaves $HOME alone.
set -euo pipefail

HELM_VERSION=v4.3.2

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=helm
HOME_DIR=$REPO/.cache/helm/$HELM_VERSION
HELM=$HOME_DIR/bin/helm

cmd_fetch() {
  [[ -x $HELM ]] && return 0
  # A plain `go install` reports the version as its source default ("v4.3"): set it as the
  # release build does. No cgo: helm needs none.
  go_build_pinned "Helm $HELM_VERSION" "$HOME_DIR" helm "$HELM" \
    CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go install \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  "$HELM" version --short >/dev/null || { rm -f "$HELM"; die "the built helm does not run"; }
}

run_helm() {
  cmd_fetch
  export HELM_CONFIG_HOME=${HELM_CONFIG_HOME:-$HOME_DIR/home/config}
  export HELM_CACHE_HOME=${HELM_CACHE_HOME:-$HOME_DIR/home/cache}
  export HELM_DATA_HOME=${HELM_DATA_HOME:-$HOME_DIR/home/data}
  exec "$HELM" "$@"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  bin) cmd_fetch; echo "$HELM" ;;
  version) echo "$HELM_VERSION" ;;
  '' | -h | --help) echo "usage: $0 fetch|bin|version|HELM-ARGS..." >&2; exit 2 ;;
  *) run_helm "$@" ;;
esac
