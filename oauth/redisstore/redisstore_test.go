package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/internal/redistest"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/oauth"
	"github.com/leadwaycrm/leadway/oauth/redisstore"
	"github.com/redis/go-redis/v9"
)

// uniquePrefix keeps tests that share a server apart.
func uniquePrefix(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// Installs go in and out whole, under their keys, in one hash.
func TestStoreKeepsInstalls(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	prefix := uniquePrefix(t)
	s := redisstore.New(rdb, redisstore.WithPrefix(prefix))
	ctx := context.Background()
	if _, err := s.Get(ctx, "location:l1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("Get of nothing = %v", err)
	}
	in := &oauth.Install{AccessToken: "at", RefreshToken: "rt", TokenType: "Bearer", UserType: oauth.Company, CompanyID: "co",
		ApprovedLocations: []string{"l1", "l2"}, Expiry: time.Unix(1e9, 0).UTC(), IssuedAt: time.Unix(1e9-86399, 0).UTC()}
	if err := s.Put(ctx, "company:co", in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "company:co")
	if err != nil || got.RefreshToken != "rt" || got.ApprovedLocations[1] != "l2" || !got.Expiry.Equal(in.Expiry) || got.UserType != oauth.Company {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if n, _ := rdb.HLen(ctx, prefix+"installs").Result(); n != 1 {
		t.Errorf("hash holds %d fields", n)
	}
	keys, err := s.List(ctx)
	if err != nil || len(keys) != 1 || keys[0] != "company:co" {
		t.Errorf("List = %v, %v", keys, err)
	}
	if err := s.Delete(ctx, "company:co"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "company:co"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
	rdb.HSet(ctx, prefix+"installs", "location:x", `{"access_token":"secret-at"`)
	if _, err := s.Get(ctx, "location:x"); err == nil || strings.Contains(err.Error(), "secret-at") {
		t.Errorf("corrupt record: %v", err)
	}
}

// The lock has a lease, refuses a second holder, frees itself when the
// lease runs out, and only its owner extends or releases it.
func TestLockLeaseAndOwner(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	prefix := uniquePrefix(t)
	s := redisstore.New(rdb, redisstore.WithPrefix(prefix))
	ctx := context.Background()
	first, err := s.Lock(ctx, "location:l1", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "location:l1", time.Second); !errors.Is(err, oauth.ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"lock:location:l1").Val(); ttl <= 0 || ttl > 300*time.Millisecond {
		t.Errorf("PTTL = %s", ttl)
	}
	if err := first.Extend(ctx); err != nil {
		t.Fatal(err)
	}
	// The lease runs out; another holder takes the lock.
	time.Sleep(400 * time.Millisecond)
	second, err := s.Lock(ctx, "location:l1", time.Minute)
	if err != nil {
		t.Fatalf("after the lease: %v", err)
	}
	if err := first.Extend(ctx); !errors.Is(err, oauth.ErrLockLost) {
		t.Errorf("Extend by the old holder = %v, want ErrLockLost", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "location:l1", time.Second); !errors.Is(err, oauth.ErrLocked) {
		t.Errorf("the old holder's Release freed the new holder's lock: %v", err)
	}
	if err := second.Extend(ctx); err != nil {
		t.Errorf("Extend by the holder = %v", err)
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+"lock:location:l1").Val(); n != 0 {
		t.Errorf("the lock is still there after Release")
	}
}

// Options are checked; a bad one fails every call.
func TestOptionsCheckTheirInput(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, s := range []*redisstore.Store{
		redisstore.New(rdb, redisstore.WithPrefix("a{b}")),
		redisstore.New(rdb, redisstore.WithTimeout(0)),
		redisstore.New(nil),
	} {
		if _, err := s.Get(context.Background(), "k"); err == nil || errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("Get = %v", err)
		}
	}
}

// A Redis that stops answering writes when a refresh is due: the lock
// cannot be taken, the call fails with a StoreError, nothing is redeemed,
// and the stored refresh token still works once Redis is back.
func TestRedisDownRedeemsNothing(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	srv := leadwaytest.NewServer(leadwaytest.WithOAuth("app", "app-secret"))
	defer srv.Close()
	store := redisstore.New(rdb, redisstore.WithPrefix(uniquePrefix(t)), redisstore.WithTimeout(200*time.Millisecond))
	mgr, err := oauth.NewManager(&oauth.Config{ClientID: "app", ClientSecret: "app-secret", BaseURL: srv.URL}, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := mgr.Exchange(ctx, srv.AuthorizationCode(leadwaytest.Install{LocationID: "loc-1"}))
	if err != nil {
		t.Fatal(err)
	}
	in.Expiry = time.Now().Add(-time.Second)
	if err := store.Put(ctx, in.Key(), in); err != nil {
		t.Fatal(err)
	}
	admin := rs.Client(t)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "1500", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = mgr.LocationToken(ctx, "loc-1")
	var se *oauth.StoreError
	if !errors.As(err, &se) || se.Op != "lock" || !strings.Contains(err.Error(), "nothing was redeemed") {
		t.Fatalf("err = %v, want a StoreError from the lock", err)
	}
	if st := srv.OAuthStats(); st.Refreshes != 0 {
		t.Fatalf("redeemed without the lock: %+v", st)
	}
	time.Sleep(1500 * time.Millisecond)
	tok, err := mgr.LocationToken(ctx, "loc-1")
	if err != nil || tok.AccessToken == in.AccessToken {
		t.Fatalf("once Redis is back: %v, %v", tok, err)
	}
	if st := srv.OAuthStats(); st.Refreshes != 1 || st.Reuses != 0 {
		t.Errorf("OAuthStats = %+v", st)
	}
}
