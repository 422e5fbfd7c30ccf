# A Python tool from PyPI in a virtual environment of its own, outside the
# checkout: `python_tool DIR PACKAGE...` creates DIR (installing Debian's
# python3-venv when venv is missing) and pip-installs the packages into it.
python_tool() {
    local dir="$1"
    shift
    echo "==> installing $* into $dir (PyPI)" >&2
    python3 -m venv "$dir" 2>/dev/null || {
        local sudo=""
        [[ $(id -u) -ne 0 ]] && sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv
        python3 -m venv "$dir"
    }
    "$dir/bin/pip" install -q "$@"
}
