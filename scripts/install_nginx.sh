#!/usr/bin/env bash
# Installs nginx (Debian's package) when it is missing: the scaled stack (scripts/run.sh
# --replicas N) puts it in front of the Rasa replicas and the action servers. The stack runs it
# as a foreground process with its own generated config, never the system service, so the
# package's service is neither started nor needed. Safe to run again: a no-op when present.
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    echo "install_nginx: nginx is missing and this user cannot install packages;" \
        "install Debian's nginx package" >&2
    exit 1
fi
SUDO=()
[[ "$(id -u)" == 0 ]] || SUDO=(sudo)

echo "install_nginx: installing Debian's nginx package" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# policy-rc.d exit 101 keeps the package's postinst from starting the system service on :80.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    created_policy=1
fi
status=0
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends nginx >/dev/null || status=$?
if (( created_policy )); then
    "${SUDO[@]}" rm -f "$policy"
fi
exit "$status"
