// Package config holds gatehouse's typed configuration. Each setting comes
// from, in order of precedence, a command-line flag, a GATEHOUSE_* environment
// variable, the optional YAML file named by --config (or GATEHOUSE_CONFIG),
// or its default. Validate reports every problem at once.
package config
