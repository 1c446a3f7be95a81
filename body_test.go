package leadway

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	big := strings.Repeat("x", 4<<20+37)
	for _, tc := range []struct {
		name          string
		body          string
		length, limit int64
		wantLen       int
		truncated     bool
	}{
		{"exact length", "hello", 5, 10, 5, false},
		{"unknown length", "hello", -1, 10, 5, false},
		{"at the limit", "hello", -1, 5, 5, false},
		{"one past the limit", "hello!", -1, 5, 5, true},
		{"announced length past the limit", "hello!", 6, 5, 5, true},
		{"announced more than sent", "hi", 1 << 40, math.MaxInt64, 2, false},
		{"largest limit, unknown length", big, -1, math.MaxInt64, len(big), false},
		{"large body past a limit that grew the buffer", big, int64(len(big)), 4 << 20, 4 << 20, true},
		{"empty", "", 0, 10, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// OneByteReader makes every read short, as a slow network does.
			b, err := readBody(iotest.OneByteReader(strings.NewReader(tc.body)), tc.length, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.data) != tc.wantLen || b.truncated != tc.truncated || string(b.data) != tc.body[:tc.wantLen] {
				t.Errorf("read %d bytes, truncated %v; want %d, %v", len(b.data), b.truncated, tc.wantLen, tc.truncated)
			}
		})
	}
	t.Run("read error keeps what arrived", func(t *testing.T) {
		boom := errors.New("reset")
		b, err := readBody(io.MultiReader(strings.NewReader("part"), iotest.ErrReader(boom)), 10, 100)
		if !errors.Is(err, boom) || string(b.data) != "part" {
			t.Errorf("readBody = %q, %v; want the part and the error", b.data, err)
		}
	})
}
