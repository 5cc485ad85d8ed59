// Package conf is the schema of Wren's TOML configuration file: its keys,
// defaults and validation, with errors that point at file:line:column.
// It imports only the standard library and go-toml.
package conf
