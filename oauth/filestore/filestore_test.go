//go:build unix

package filestore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
	"github.com/leadwaycrm/leadway/oauth/filestore"
)

func open(t *testing.T) (*filestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conf", "leadway", "installs.json")
	s, err := filestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestFileStoreKeepsInstallsPrivately(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	if _, err := s.Get(ctx, "location:l1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("Get of nothing = %v", err)
	}
	in := &oauth.Install{AccessToken: "at", RefreshToken: "rt-secret", UserType: oauth.Location, LocationID: "l1", Expiry: time.Unix(1e9, 0).UTC()}
	if err := s.Put(ctx, "location:l1", in); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %04o (%v)", p, info.Mode().Perm(), want, err)
		}
	}
	got, err := s.Get(ctx, "location:l1")
	if err != nil || got.RefreshToken != "rt-secret" || !got.Expiry.Equal(in.Expiry) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	keys, _ := s.List(ctx)
	if len(keys) != 1 || keys[0] != "location:l1" {
		t.Errorf("List = %v", keys)
	}
	if err := s.Delete(ctx, "location:l1"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx); len(keys) != 0 {
		t.Errorf("after Delete: %v", keys)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 { // the file and its lock
		t.Errorf("left behind: %v", entries)
	}
}

// A store file others may read, or that is not the store's JSON, is
// refused with a message that names the file and shows none of it.
func TestFileStoreRefusesUnsafeOrCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"readable by others", `{"installs":{}}`, 0o644, "has mode 0644, but it holds refresh tokens: only its owner may read it (chmod 600 "},
		{"writable by the group", `{"installs":{}}`, 0o620, "has mode 0620"},
		{"corrupt", `{"installs":{"location:l1":{"refresh_token":"rt-secret"`, 0o600, "is not the store's JSON (at byte"},
		{"wrong shape", `{"installs":["rt-secret"]}`, 0o600, "is not the store's JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := filestore.Open(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "rt-secret") {
				t.Errorf("Open = %v; want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
	link := filepath.Join(dir, "link.json")
	_ = os.Symlink("/etc/passwd", link)
	if _, err := filestore.Open(link); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a symlink: %v", err)
	}
}

// Writers in parallel lose nothing: each update reads and writes under the
// file's lock.
func TestFileStoreParallelWriters(t *testing.T) {
	s, path := open(t)
	other, err := filestore.Open(path) // another opener: another descriptor
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			st := s
			if w%2 == 1 {
				st = other
			}
			for i := range 10 {
				key := fmt.Sprintf("location:w%d-%d", w, i)
				if err := st.Put(context.Background(), key, &oauth.Install{AccessToken: "a", LocationID: key}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if keys, _ := s.List(context.Background()); len(keys) != 80 {
		t.Errorf("%d installs, want 80", len(keys))
	}
}

// A refresh lock refuses a second holder, in this process or another, and
// dies with the process that held it.
func TestFileStoreLockDiesWithItsHolder(t *testing.T) {
	if path := os.Getenv("FILESTORE_HOLD_LOCK"); path != "" {
		s, err := filestore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lock(context.Background(), "location:l1", time.Second); err != nil {
			t.Fatal(err)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		return
	}
	s, path := open(t)
	ctx := context.Background()
	l, err := s.Lock(ctx, "location:l1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "location:l1", time.Second); !errors.Is(err, oauth.ErrLocked) {
		t.Fatalf("second Lock = %v", err)
	}
	if other, err := s.Lock(ctx, "company:c1", time.Second); err != nil {
		t.Fatalf("another key's lock = %v", err)
	} else {
		_ = other.Release(ctx)
	}
	if err := l.Extend(ctx); err != nil {
		t.Fatal(err)
	}
	_ = l.Release(ctx)

	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreLockDiesWithItsHolder$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FILESTORE_HOLD_LOCK="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder said %q", line)
	}
	if _, err := s.Lock(ctx, "location:l1", time.Second); !errors.Is(err, oauth.ErrLocked) {
		t.Fatalf("while another process holds it: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if l, err := s.Lock(ctx, "location:l1", time.Second); err != nil {
		t.Errorf("after the holder died: %v", err)
	} else {
		_ = l.Release(ctx)
	}
}
