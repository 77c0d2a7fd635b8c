#!/usr/bin/env bash
# Every vault file of the inventories must be an Ansible Vault file, never plain text: a vault.yml (or .yaml)
# under group_vars or host_vars, anywhere below the folder given (default: inventories).
# Usage: tools/check-vault.sh [folder]    Exit 1, naming each plain file and the fix, when one is not encrypted.
set -euo pipefail

root="${1:-inventories}"
status=0
while IFS= read -r -d '' file; do
    if [ "$(head -c 14 "$file")" != "\$ANSIBLE_VAULT" ]; then
        echo "$file is not an Ansible Vault file: encrypt it with ansible-vault encrypt $file (and rotate any secret it held)" >&2
        status=1
    fi
done < <(find "$root" \( -path '*/group_vars/*' -o -path '*/host_vars/*' \) \( -name 'vault.yml' -o -name 'vault.yaml' \) -type f -print0)
exit "$status"
