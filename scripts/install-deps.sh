#!/bin/sh
# Installs the Debian 12 packages skr builds, tests and runs with.
# Idempotent; run as root (or through sudo).
set -eu

PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev \
libssl-dev libjwt-dev liblmdb-dev lmdb-utils libuv1-dev libh2o-dev \
libjansson-dev libcurl4-openssl-dev \
openssl curl jq cryptsetup-bin ca-certificates python3 xxd \
libtss2-dev swtpm swtpm-tools tpm2-tools softhsm2 opensc libp11-kit-dev \
etcd-server etcd-client"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
