#!/bin/bash
# Prints the Debian mirror this system's apt already uses (deb822 or one-line sources),
# for the scripts that fetch kernels and build root file systems. Never hard-coded.
mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
    | grep -v -- '-security' | grep -oE 'https?://[^ ]+/debian/?' | head -1 || true)
[[ -n "$mirror" ]] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
echo "$mirror"
