// Package cross holds the cross-build tooling: binaries for edge targets,
// footprint budgets, and emulated smoke runs.
package cross
