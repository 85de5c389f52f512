// Package examples holds two runnable programs that show gatehouse's Go
// SDKs together: examples/api, a small API protected with package verify,
// and examples/client, a service that calls it through package client's
// token source. See README.md for running both against `gatehouse serve
// --dev`.
package examples
