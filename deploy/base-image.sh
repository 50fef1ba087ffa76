#!/bin/sh
# A base image for deploy/Dockerfile made on this machine, for machines that cannot pull
# python:3.11-slim from a registry: Debian 12's Python 3.11 in a minimal root file system
# (mmdebstrap, from the Debian mirror apt already uses), imported into podman (or docker:
# ENGINE=docker). Documentation, manual pages and translations are left out, and the merged
# /usr is made by mmdebstrap's own hook rather than Debian's usrmerge package, which would pull
# in the whole of perl (about 50 MB the image never runs). Then build with
#   --build-arg BASE=localhost/haplan-base:bookworm   (compose: HAPLAN_BASE=...)
#
#   deploy/base-image.sh [TAG]      # default localhost/haplan-base:bookworm
set -eu
TAG=${1:-localhost/haplan-base:bookworm}
ENGINE=${ENGINE:-podman}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$work/rootfs.tar"
"$ENGINE" import --quiet "$work/rootfs.tar" "$TAG" >/dev/null
echo "$TAG: $("$ENGINE" image inspect --format '{{.Size}}' "$TAG") bytes"
