#!/bin/sh
# rootfs.sh OUT BINARY [CA_BUNDLE]: assemble the container image's files in
# OUT. OUT/root is its whole file system — the static gatehouse binary, the
# CA certificates that TLS to other servers (federation, OTLP export) trusts,
# and a non-root user (65532) — and OUT/state the empty state directory that
# the image gives that user at /var/lib/gatehouse. The Containerfile runs this
# in its build stage; the image test runs it on a binary built on the host.
# No shell ends up in the image.
set -eu
out=$1
bin=$2
ca=${3:-/etc/ssl/certs/ca-certificates.crt}
root=$out/root
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/var/lib" "$root/tmp" "$out/state"
cp "$bin" "$root/usr/local/bin/gatehouse"
chmod 0755 "$root/usr/local/bin/gatehouse"
cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ngatehouse:x:65532:65532:gatehouse:/var/lib/gatehouse:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ngatehouse:x:65532:\n' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
chmod 1777 "$root/tmp"
