package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/leadwaytest"
)

// import --store takes each row's token from an agency install by the
// row's location: one Company install serves every sub-account it
// approves, with a location token minted once per location, not per row.
func TestImportWithAStoredAgencyInstall(t *testing.T) {
	srv := startOAuthFake(t, leadwaytest.WithApprovedInstall(leadwaytest.Install{UserType: "Company", CompanyID: "co-1",
		ApprovedLocations: []string{"loc-0", "loc-1", "loc-2"}}))
	store := filepath.Join(t.TempDir(), "installs.json")
	env := appEnv(srv, store)
	if r := login(t, env, browse(t)); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	const n = 60
	path := writeDeals(t, n, 3)
	r := runCLI(t, env, "", "import", path, "--pipeline-id", "pipe-1")
	if r.code != exitOK {
		t.Fatalf("import --store: exit %d\n%s", r.code, r.stderr)
	}
	ids, unknown, _ := accounted(t, path, n)
	matchStore(t, srv, ids, unknown)
	if len(ids) != n {
		t.Errorf("%d results, want %d", len(ids), n)
	}
	if st := srv.OAuthStats(); st.LocationTokens != 3 || st.Reuses != 0 {
		t.Errorf("OAuth stats %+v: want 3 location tokens minted, one per location, and no reuse", st)
	}
	noSecrets(t, srv, r.stdout+r.stderr)
}

// A location no stored install approves stops the import before its
// first request, naming the installs there are.
func TestImportWithAStoreNamesTheInstall(t *testing.T) {
	srv := startOAuthFake(t, leadwaytest.WithTokenLifetime(time.Hour))
	store := filepath.Join(t.TempDir(), "installs.json")
	env := appEnv(srv, store)
	if r := login(t, env, browse(t)); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	path := filepath.Join(t.TempDir(), "deals.csv")
	if err := os.WriteFile(path, []byte("name,locationId\nDeal 1,loc-1\nDeal 2,loc-9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "", "import", path, "--pipeline-id", "pipe-1")
	wantFailure(t, r, exitUsage, "no stored install covers location loc-9: the store holds location:loc-1")
	if !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("stderr: %s", r.stderr)
	}
	for _, req := range srv.Requests() {
		if req.Path == "/opportunities/upsert" {
			t.Errorf("an upsert was sent before the import stopped: %+v", req)
		}
	}
	noSecrets(t, srv, r.stdout+r.stderr)
}
