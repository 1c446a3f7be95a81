package main

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// resumeCommand is the command line that takes this import up again: the
// same file and flags, less --restart.
func resumeCommand(cmd *cobra.Command, path string) string {
	parts := []string{"leadway", "import"}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name == "restart" || fl.Name == "dry-run" {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+fl.Name, shellQuote(v))
			}
			return
		}
		if fl.Value.Type() == "bool" {
			parts = append(parts, "--"+fl.Name+"="+fl.Value.String())
			return
		}
		v := fl.Value.String()
		if fl.Name == "redis" {
			// Its password must not reach a terminal or a log; the user
			// fills it in again.
			v = redactedURL(v)
		}
		parts = append(parts, "--"+fl.Name, shellQuote(v))
	})
	return strings.Join(append(parts, shellQuote(path)), " ")
}

// redactedURL hides a URL's password, as url.URL.Redacted does, and gives
// nothing of a URL it cannot parse.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "REDACTED"
	}
	return u.Redacted()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
