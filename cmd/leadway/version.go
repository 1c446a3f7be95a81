package main

import (
	"runtime/debug"
	"strings"

	"github.com/leadwaycrm/leadway"
)

// version says which build this is: the module version when it was
// installed with go install ...@version, else the VCS revision it was built
// from and whether the tree had changes, so that a pinned commit can be told
// from another.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return leadway.LibraryVersion + " (no build information)"
	}
	return versionOf(info)
}

func versionOf(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return leadway.LibraryVersion + " (built from source without VCS information)"
	}
	var b strings.Builder
	b.WriteString(leadway.LibraryVersion + " (commit " + rev[:min(len(rev), 12)])
	if at != "" {
		b.WriteString(", " + at)
	}
	if modified == "true" {
		b.WriteString(", with uncommitted changes")
	}
	b.WriteString(")")
	return b.String()
}
