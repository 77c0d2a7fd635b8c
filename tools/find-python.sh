#!/bin/sh
# Print the newest Python >= 3.12 on this machine (PATH, then pyenv), or 3.11 as a last resort.
for minor in 13 12 11; do
    for candidate in "python3.$minor" $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor" 2>/dev/null | sort -V -r); do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            command -v "$candidate"
            exit 0
        fi
    done
done
exit 1
