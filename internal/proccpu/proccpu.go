// Package proccpu reads the CPU time this process has used (user + system,
// all threads): getrusage on Unix, GetProcessTimes on Windows, NaN elsewhere.
// Benchmarks and BO runs report it beside wall time.
package proccpu
