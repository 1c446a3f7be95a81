// Package doccheck holds the tests that keep the documentation true: every
// relative link in the Markdown files resolves, every Go snippet in
// README.md and docs/ compiles, and every shell example runs.
//
// A fenced block may be preceded by an HTML comment that tells the check
// how to treat it:
//
//	<!-- not-run: REASON -->     a shell block that is not run, and why
//	<!-- background -->          a shell block started in the background
//	                             (a server) and stopped when the file ends
//	<!-- go: func(PARAMS) RESULTS -->
//	                             a Go fragment, compiled as the body of a
//	                             function with that signature
//	<!-- console: loose -->      a transcript whose shown output must appear,
//	                             in order, among the lines the commands print
//
// Each Markdown file's shell examples run in order in a copy of the
// repository, with a fresh HOME and the leadway command built from this tree
// on PATH, as a reader pasting them into one terminal would run them: the
// exports and the working directory of a block carry over to the next. Each
// loopback address a file names is replaced by a free one. Blocks fenced as
// sh run as scripts and must exit 0. Blocks fenced as
// console are transcripts: each line starting with "$ " is a command, and
// the lines after it are its output, compared once times, ports, tokens and
// ids are masked.
package doccheck
