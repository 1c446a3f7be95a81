package webhook

import "time"

// NewClockedStore is newMemoryStore for the external tests' benchmarks.
var NewClockedStore = func(limit int, now func() time.Time) *MemoryStore { return newMemoryStore(limit, now) }
