package doccheck

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// session runs one Markdown file's shell examples in order, as a reader
// pasting them into one terminal would: in a copy of the repository, with
// the exports and working directory of each block carried to the next.
type session struct {
	t     *testing.T
	dir   string // the copy of the repository; the first working directory
	state string // the file that carries exports and the directory between blocks
	env   []string
	ports *strings.Replacer // loopback addresses of the docs -> free ones
	bg    []*background
}

// background is a block started with <!-- background -->.
type background struct {
	b   block
	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var loopbackRE = regexp.MustCompile(`127\.0\.0\.1:(\d{2,5})`)

// newSession copies the repository and prepares the environment: HOME and
// the config directory are fresh, the leadway command built from this tree
// is on PATH, and no LEADWAY_ variable leaks in from the test's own.
func newSession(t *testing.T, doc string, leadwayBin string, docBlocks []block) *session {
	base := t.TempDir()
	s := &session{t: t, dir: filepath.Join(base, "repo"), state: filepath.Join(base, "state.sh")}
	copyTree(t, root(t), s.dir)
	// A git repository of its own, as a clone would be, so that examples
	// such as git diff work on it.
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=doccheck", "-c", "user.email=doccheck@localhost", "commit", "-q", "-m", "snapshot"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = s.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v in the copy: %v\n%s", args, err, out)
		}
	}
	home := filepath.Join(base, "home")
	gobin := filepath.Join(base, "bin")
	for _, d := range []string{home, gobin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "LEADWAY_"), k == "HOME", k == "XDG_CONFIG_HOME", k == "GOBIN", k == "PATH", k == "GOFLAGS":
			continue
		}
		s.env = append(s.env, kv)
	}
	// The fresh HOME must not move Go's caches, or every example would
	// download and build the world again.
	s.env = append(s.env, goEnv(t, "GOPATH", "GOMODCACHE", "GOCACHE")...)
	s.env = append(s.env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GOBIN="+gobin,
		"GOFLAGS=-trimpath -buildvcs=false",
		"PATH="+gobin+string(os.PathListSeparator)+filepath.Dir(leadwayBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	// Every loopback address a file names gets a free port of its own.
	var pairs []string
	seen := map[string]bool{}
	for _, b := range docBlocks {
		for _, m := range loopbackRE.FindAllString(b.body, -1) {
			if !seen[m] && !strings.HasSuffix(m, ":0") {
				seen[m] = true
				pairs = append(pairs, m, freeLoopback(t))
			}
		}
	}
	s.ports = strings.NewReplacer(pairs...)
	t.Cleanup(s.stopBackground)
	return s
}

func freeLoopback(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// goEnv returns NAME=VALUE for each of Go's settings names, as go env
// reports them for this process.
func goEnv(t *testing.T, names ...string) []string {
	out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	values := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(values) != len(names) {
		t.Fatalf("go env %v printed %q", names, out)
	}
	env := make([]string, len(names))
	for i, n := range names {
		env[i] = n + "=" + values[i]
	}
	return env
}

// copyTree copies the files git knows of (tracked, or new and not ignored).
func copyTree(t *testing.T, from, to string) {
	out, err := exec.Command("git", "-C", from, "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(from, rel)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// script wraps a block's commands so that they start from the state the
// previous block left and save theirs when they end.
func (s *session) script(body string) string {
	return fmt.Sprintf(`cd %[1]q
[ -f %[2]q ] && . %[2]q
trap 'export -p > %[2]q; printf "cd %%q\n" "$PWD" >> %[2]q' EXIT
%[3]s`, s.dir, s.state, s.ports.Replace(body))
}

func (s *session) command(script string) *exec.Cmd {
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script)
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a script to its end, or for at most limit, and returns what it
// printed on stdout and stderr together.
func (s *session) run(script string, limit time.Duration) (string, error) {
	cmd := s.command(script)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(limit, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	err := cmd.Wait()
	if !timer.Stop() {
		err = fmt.Errorf("still running after %v: %w", limit, err)
	}
	return out.String(), err
}

// start runs a background block and waits until every loopback address it
// names accepts connections.
func (s *session) start(b block) {
	body := s.ports.Replace(b.body)
	// Background servers do not save state: the blocks after them do.
	cmd := s.command(fmt.Sprintf("cd %q\n[ -f %q ] && . %q\n%s", s.dir, s.state, s.state, body))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("%s: %v", b.where(), err)
	}
	bg := &background{b: b, cmd: cmd, out: out}
	s.bg = append(s.bg, bg)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for _, addr := range loopbackRE.FindAllString(body, -1) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				s.t.Fatalf("%s: the background command ended (%v) before %s accepted connections:\n%s", b.where(), err, addr, out)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("%s: %s accepts no connection after a minute:\n%s", b.where(), addr, out)
			}
		}
	}
	go func() { <-exited }()
}

// stopBackground interrupts each background command, as Ctrl-C would, and
// kills what is left of it after a few seconds.
func (s *session) stopBackground() {
	for _, bg := range s.bg {
		pgid := bg.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGINT)
		for i := 0; i < 100 && syscall.Kill(-pgid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		if testing.Verbose() {
			s.t.Logf("%s: background output:\n%s", bg.b.where(), bg.out)
		}
	}
	s.bg = nil
}
