#!/usr/bin/env bash
# From one built image to a signed copy in every region's registry, then a rollout by digest
# (the original design's "one build, deployed everywhere"; docs/deploy.md, "Release").
#
#   scripts/release.sh keygen                  make the release signing key (GPG, once per
#                                              organisation); its public half goes to the
#                                              inventory's release.public_key
#   scripts/release.sh publish IMAGE [TAG]     sign IMAGE (local podman storage) and push it,
#                                              and its SBOM, to the central registry;
#                                              last line: the digest
#   scripts/release.sh replicate DIGEST TAG    copy it with its signature to every region's
#                                              registry (layers a region holds are not sent
#                                              again); JSON: seconds and bytes per region
#   scripts/release.sh verify DIGEST           each region serves the same digest, signed
#                                              under that region's own pull policy
#   scripts/release.sh rollout DIGEST [ARGS]   hanvoice fleet rollout: wave by wave, gated
#   scripts/release.sh drill [--keep]          all of it on this machine: a central and three
#                                              regional registries on loopback, release A
#                                              then a code-only B under load, refusals,
#                                              rollback; last line: a JSON summary
#
# Environment: HANVOICE_INVENTORY (default deploy/regions.yaml); HANVOICE_SIGN_BY, the
# signing key's fingerprint (its secret key in GNUPGHOME's keyring); HANVOICE_PLAIN_HTTP=1
# for registries without TLS (loopback drills only).
set -euo pipefail
cd "$(dirname "$0")/.."

INVENTORY="${HANVOICE_INVENTORY:-deploy/regions.yaml}"
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
fleet=("$PYTHON" -m hanvoice.cli fleet)

log() { echo "release.sh: $*" >&2; }
die() { log "$*"; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 is missing (scripts/system-deps.sh)"; }
plain_http() { [ "${HANVOICE_PLAIN_HTTP:-0}" = 1 ]; }

inventory_value() {  # inventory_value image | public_key
  "$PYTHON" - "$INVENTORY" "$1" <<'PY'
import sys
from pathlib import Path
from hanvoice.fleet.inventory import load_inventory
inv = load_inventory(Path(sys.argv[1]))
print(inv.image if sys.argv[2] == "image" else inv.release.public_key)
PY
}

# The release host's trust policy and registries.d (signature staging), from the inventory.
release_config() {
  local key cfg
  key=$(inventory_value public_key)
  if [ -z "$key" ] || [ ! -f "$key" ]; then
    die "release.public_key ($key) is missing: scripts/release.sh keygen"
  fi
  cfg=$(mktemp -d /tmp/hanvoice-release.XXXXXX)
  "${fleet[@]}" release-config --inventory "$INVENTORY" -o "$cfg" --key-path "$key" >/dev/null
  echo "$cfg"
}

keygen() {
  need gpg
  local key uid="${HANVOICE_SIGNER:-hanvoice release <release@hanvoice.invalid>}"
  key=$(inventory_value public_key)
  [ -n "$key" ] || die "set release.public_key in $INVENTORY first (where the public key goes)"
  gpg --batch --passphrase '' --quick-gen-key "$uid" ed25519 sign 2y
  fpr=$(gpg --with-colons --list-secret-keys "$uid" | awk -F: '/^fpr/ {print $10; exit}')
  mkdir -p "$(dirname "$key")"
  gpg --armor --export "$fpr" >"$key"
  log "public key $key (commit it); sign with HANVOICE_SIGN_BY=$fpr"
  log "keep the secret key out of the repository: gpg --armor --export-secret-keys $fpr"
}

publish() {
  local image="${1:?usage: publish IMAGE [TAG]}" tag="${2:-}" central cfg digest tls=()
  need skopeo
  [ -n "${HANVOICE_SIGN_BY:-}" ] || die "HANVOICE_SIGN_BY (the signing key's fingerprint) is not set"
  tag="${tag:-${image##*:}}"
  central=$(inventory_value image)
  cfg=$(release_config)
  # shellcheck disable=SC2064
  trap "rm -rf '$cfg'" RETURN
  plain_http && tls=(--dest-tls-verify=false)
  log "signing $image as $central:$tag"
  # --remove-signatures: a local image a node pulled keeps that registry's signatures;
  # ours is made here, anew, for the central name.
  skopeo --policy "$cfg/policy.json" --registries.d "$cfg/registries.d" copy "${tls[@]}" \
    --retry-times 3 --remove-signatures --sign-by "$HANVOICE_SIGN_BY" \
    --digestfile "$cfg/digest" "containers-storage:$image" "docker://$central:$tag" >&2
  digest=$(cat "$cfg/digest")
  # The SBOM the build put in the image, beside it: a one-file image under the tag
  # sha256-<hex>.sbom (cosign's convention), signed like the image.
  mkdir "$cfg/sbom"
  bash scripts/image.sh sbom "$image" "$cfg/sbom/sbom.cdx.json" >/dev/null
  printf 'FROM scratch\nCOPY sbom.cdx.json /sbom.cdx.json\nLABEL org.opencontainers.image.description="CycloneDX SBOM of %s@%s"\n' \
    "$central" "$digest" | podman build -q --network none -t "localhost/hanvoice-sbom:$tag" -f - "$cfg/sbom" >/dev/null
  skopeo --policy "$cfg/policy.json" --registries.d "$cfg/registries.d" copy "${tls[@]}" \
    --retry-times 3 --sign-by "$HANVOICE_SIGN_BY" \
    "containers-storage:localhost/hanvoice-sbom:$tag" "docker://$central:${digest/:/-}.sbom" >&2
  podman rmi "localhost/hanvoice-sbom:$tag" >/dev/null
  log "published $central@$digest and its SBOM (tag ${digest/:/-}.sbom)"
  echo "$digest"
}

replicate() {
  local digest="${1:?usage: replicate DIGEST TAG}" tag="${2:?usage: replicate DIGEST TAG}" cfg
  local plain=()
  need skopeo
  cfg=$(release_config)
  # shellcheck disable=SC2064
  trap "rm -rf '$cfg'" RETURN
  plain_http && plain=(--plain-http)
  "${fleet[@]}" replicate --inventory "$INVENTORY" --digest "$digest" --tag "$tag" \
    --config "$cfg" "${plain[@]}"
}

command -v "$PYTHON" >/dev/null || die "no Python ($PYTHON): run scripts/setup.sh"
case "${1:-}" in
  keygen) shift; keygen ;;
  publish) shift; publish "$@" ;;
  replicate) shift; replicate "$@" ;;
  verify) shift; "${fleet[@]}" verify --inventory "$INVENTORY" --digest "${1:?usage: verify DIGEST}" ;;
  rollout) shift; d="${1:?usage: rollout DIGEST [hanvoice fleet rollout options]}"; shift
    "${fleet[@]}" rollout --inventory "$INVENTORY" --digest "$d" "$@" ;;
  drill) shift; need skopeo; need docker-registry; need gpg
    exec "$PYTHON" tests/integration/deploy/release_drill.py "$@" ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
