//go:build !race

package redislimit_test

const underRace = false
