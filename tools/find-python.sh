#!/usr/bin/env bash
# Print the newest Python >= 3.12 on this machine (PATH, then pyenv), or 3.11 as a last resort.
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for minor in 13 12 11; do
    candidates=("python3.$minor")
    for path in "$pyenv_root"/versions/3."$minor".*/bin/python3."$minor"; do
        [ -x "$path" ] && candidates+=("$path")
    done
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            command -v "$candidate"
            exit 0
        fi
    done
done
exit 1
