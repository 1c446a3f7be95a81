package leadwaytest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as a
// server that was never closed or a delay that outlived Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
