#!/bin/sh
# Usage: build-repo.sh DIR PACKAGE...
# Downloads PACKAGE... and every dependency not already installed into DIR, writes a flat apt
# repository index there, and makes DIR the node's only package source. Runs during the image build
# (with network); at run time the node's network is internal and apt reads only DIR.
set -eu
dir=$1; shift
mkdir -p "$dir"
export DEBIAN_FRONTEND=noninteractive
# Recommends on: the learner's `apt-get install keepalived -y` follows apt's defaults.
apt-get install --download-only -y -o Dir::Cache::Archives="$dir/" "$@"
rm -rf "$dir/partial" "$dir/lock"

cd "$dir"
: > Packages
for deb in *.deb; do
	dpkg-deb --field "$deb" >> Packages
	printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' \
		"$deb" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" >> Packages
done
gzip -9 -k -n Packages
{
	echo 'Origin: keepalived-lab'
	echo 'Label: keepalived-lab offline packages'
	echo 'Suite: lab'
	echo 'Codename: lab'
	echo "Date: $(date -Ru)"
	echo 'Description: packages a learner may install on a lab node with no route out'
	echo 'SHA256:'
	for f in Packages Packages.gz; do
		echo " $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"
	done
} > Release
chmod -R a+rX "$dir"

# From now on this is the only source; the index is fetched once here so that the guide's
# `sudo apt-get install keepalived -y` works even before the learner runs `apt-get update`.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$dir ./" > /etc/apt/sources.list.d/lab.list
rm -rf /var/lib/apt/lists/*
apt-get update
apt-get clean
