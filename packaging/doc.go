// Package packaging holds gatehouse's packages — the container image's
// Containerfile (at the repository root) and root file system script, a
// compose file, a systemd unit and a Kubernetes example — and the tests
// that check them on this machine: the image is built with podman and its
// binary run from the exported file system, and the unit passes
// systemd-analyze verify.
package packaging
