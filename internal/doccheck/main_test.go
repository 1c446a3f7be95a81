package doccheck

import (
	"fmt"
	"os"
	"testing"
)

// binDir holds the leadway command the shell examples run; TestMain
// removes it when the tests end.
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "doccheck-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}
