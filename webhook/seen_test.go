package webhook_test

import (
	"testing"

	"github.com/leadwaycrm/leadway/internal/seentest"
	"github.com/leadwaycrm/leadway/webhook"
)

func TestMemoryStoreConforms(t *testing.T) {
	seentest.Run(t, func(t *testing.T) webhook.SeenStore { return webhook.NewMemoryStore(0) })
}
