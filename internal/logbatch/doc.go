// Package logbatch gathers log lines into fewer writes. A server that logs
// an audit line per issued token would otherwise make one write(2) system
// call per token; the audit writer holds a Writer while it logs a batch of
// events, and the batch's lines reach the log in one write.
package logbatch
