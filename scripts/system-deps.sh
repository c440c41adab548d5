#!/usr/bin/env bash
# Debian packages the test suite runs for real: Redis, etcd, nginx, Chromium (web page
# tests), espeak-ng + sox (reference audio), promtool (alert rules), podman with runc,
# catatonit (the pause process of `podman kube play`) and debootstrap (the image's base,
# scripts/image.sh), and the release path (scripts/release.sh): skopeo (copy and sign),
# docker-registry (the distribution registry, on loopback in the drill), gpg, and
# ShellCheck, which actionlint runs on the workflow's shell steps. Installs only what is
# missing, with one `apt-get update`; kubectl is expected to be present already (Debian's
# kubernetes-client conflicts with the machine's own kubectl 1.32).
set -euo pipefail

declare -A need=(
  [redis-server]=redis-server
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [nginx]=nginx
  [chromium]=chromium
  [espeak-ng]=espeak-ng
  [sox]=sox
  [promtool]=prometheus
  [podman]=podman
  [runc]=runc
  [catatonit]=catatonit
  [debootstrap]=debootstrap
  [skopeo]=skopeo
  [docker-registry]=docker-registry
  [gpg]=gnupg
  [shellcheck]=shellcheck
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# A CJK font, so the web page's screenshots in artifacts/ show Chinese, not empty boxes.
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2046
$SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
# Packaged daemons may start themselves; tests start their own on free ports.
for svc in redis-server nginx etcd prometheus; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
