#!/bin/bash
# Installs the packages of the given sections of build-aux/packages.txt.
# Skips apt-get entirely when they are all present already.
set -eu
here=$(dirname "$0")
want=()
for section in "$@"; do
  while read -r pkg; do want+=("$pkg"); done < <(
    awk -v s="[$section]" '/^\[/{on=($0==s); next} on && !/^#/ && NF {print $1}' "$here/packages.txt")
done
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing packages (run as root to install them): ${missing[*]}" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
