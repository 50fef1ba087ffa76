#!/bin/sh
# The wheelhouse deploy/Dockerfile installs from, made on this machine (which may reach a
# package index; the build never does): ./wheelhouse/deps holds every dependency of haplan as
# a wheel, and pip's own wheel, which the build runs pip from; ./wheelhouse/haplan holds
# haplan's wheel, built from this checkout. Two directories so that a change to haplan
# rebuilds only its own small layer. The wheels are for this machine's Python and
# architecture: the image's Python (its BASE) must be the same minor version (3.11).
#
#   deploy/wheelhouse.sh            # with ./.venv/bin/python if there is one, else python3
#   PYTHON=python3.11 deploy/wheelhouse.sh
set -eu
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
rm -rf wheelhouse/haplan
mkdir -p wheelhouse/deps wheelhouse/haplan
# Wheels of another version of a dependency left by an earlier run would be installed too.
rm -f wheelhouse/deps/*.whl
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --wheel-dir wheelhouse/deps . pip
mv wheelhouse/deps/haplan-*.whl wheelhouse/haplan/
echo "wheelhouse: $(ls wheelhouse/deps | wc -l) dependency wheels, $(ls wheelhouse/haplan)" \
     "for $("$PYTHON" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])')"
