//go:build race

package sgemm

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts of pooled workspaces are not meaningful.
const raceEnabled = true
