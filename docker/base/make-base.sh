#!/bin/sh
# Usage: make-base.sh IMAGE [MIRROR]
# Builds a minimal Debian bookworm root filesystem with debootstrap (the equivalent of
# debian:bookworm-slim) and imports it into Docker as IMAGE. Used when no Debian base image is
# present locally: the lab never pulls from a registry. Needs root and the debootstrap package.
set -eu
image=$1
mirror=${2:-http://deb.debian.org/debian}
security=${LAB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
rootfs=$(mktemp -d /var/tmp/keepalived-lab-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT INT TERM

echo "debootstrap: bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror"

cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log

echo "docker import: $image"
tar --numeric-owner -C "$rootfs" -c . | docker import \
	--change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$image"
