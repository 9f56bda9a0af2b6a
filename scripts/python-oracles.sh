# Sourced by scripts/test: a virtualenv with the real Python libraries the
# CLI's tests compare against (Flask, Django, Starlette, PyJWT), from PyPI,
# made once under target/ and remade when the requirements change.

ensure_python_oracles() {
    local requirements=crates/palisade-cli/tests/oracles/requirements.txt
    local venv=target/oracles/venv
    local stamp="$venv/.requirements"
    if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
        echo "scripts/test: creating $venv from $requirements" >&2
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    PALISADE_ORACLE_PYTHON="$(pwd)/$venv/bin/python"
    export PALISADE_ORACLE_PYTHON
}
