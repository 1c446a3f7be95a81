//go:build race

package redislimit_test

// underRace: the race detector slows every process several times over.
const underRace = true
