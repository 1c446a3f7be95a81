package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const upsertLong = `Creates an opportunity, or updates the one --id names, and prints the API's
answer as it came, JSON such as {"new": true|false, "opportunity": {...}}.

The opportunity comes from the field flags, or whole from --data as a JSON
object of the request's shape (unknown fields are refused), for example:
  {"pipelineId": "bCkKGpDsyPP4peuKowkG", "locationId": "CLu7BaljjqrEjBGKTNNe",
   "name": "Website redesign", "status": "open", "monetaryValue": 220}
Followers left out are sent as [] with "add", which changes nothing.

The token is read from LEADWAY_TOKEN only. Exit codes: 0 ok, 2 usage or
validation, 3 API refusal (4xx), 4 rate limited, 5 network or server; 5 also
when a create may have been applied (a timeout or a gateway error): look the
opportunity up before sending again (see leadway --help).`

// fieldFlags maps each field of the request to the flag that sets it;
// --data replaces them all.
var fieldFlags = map[string]string{
	"id": "id", "pipelineId": "pipeline-id", "locationId": "location-id", "name": "name",
	"status": "status", "pipelineStageId": "stage-id", "monetaryValue": "value",
	"assignedTo": "assigned-to", "contactId": "contact-id", "lostReasonId": "lost-reason-id",
	"followers": "follower", "followersActionType": "followers-action",
	"isRemoveAllFollowers": "remove-all-followers",
}

// upsertFlags holds the upsert command's flags.
type upsertFlags struct {
	fs  *pflag.FlagSet
	cmd *cobra.Command

	data       string
	baseURL    string
	store      string
	dryRun     bool
	maxRetries int
	timeout    time.Duration

	id, pipelineID, locationID, name, status, stageID string
	assignedTo, contactID, lostReasonID, action       string
	value                                             float64
	followers                                         []string
	removeAllFollowers                                bool
}

func newUpsertCmd(e env, g *globalFlags) *cobra.Command {
	f := &upsertFlags{}
	cmd := &cobra.Command{
		Use:   "upsert [flags]",
		Short: "Create or update an opportunity; prints the API's answer as JSON",
		Long:  upsertLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runUpsert(cmd.Context(), f, g, e))
		},
	}
	f.fs, f.cmd = cmd.Flags(), cmd
	fs := f.fs
	fs.StringVar(&f.data, "data", "", "the whole request as JSON: `@file`, - for stdin, or the JSON itself")
	fs.StringVar(&f.baseURL, "base-url", "", "API base `URL` (default $LEADWAY_BASE_URL, else "+leadway.DefaultBaseURL+")")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the request that would be sent, with the token redacted, and send nothing")
	fs.IntVar(&f.maxRetries, "max-retries", leadway.DefaultMaxRetries, "retries after 429, 503 and other safe-to-repeat failures (502 and 504 only with --id); 0 turns them off")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long, retries included; 0 waits forever")

	fs.StringVar(&f.id, "id", "", "`ID` of the opportunity to update; leave out to create one")
	fs.StringVar(&f.pipelineID, "pipeline-id", "", "pipeline `ID` (required)")
	fs.StringVar(&f.locationID, "location-id", "", "location (sub-account) `ID` (required)")
	fs.StringVar(&f.name, "name", "", "display `name`")
	fs.StringVar(&f.status, "status", "", "`status`: open, won, lost, abandoned or all")
	fs.StringVar(&f.stageID, "stage-id", "", "pipeline stage `ID`")
	fs.Float64Var(&f.value, "value", 0, "monetary `value` in the location's currency")
	fs.StringVar(&f.assignedTo, "assigned-to", "", "`user ID` the opportunity is assigned to")
	fs.StringVar(&f.contactID, "contact-id", "", "`ID` of the contact the opportunity is for")
	fs.StringVar(&f.lostReasonID, "lost-reason-id", "", "lost reason `ID`, for status lost")
	fs.StringArrayVar(&f.followers, "follower", nil, "follower `user ID`; repeat for several (at most 10)")
	fs.StringVar(&f.action, "followers-action", "", "`action` for the --follower IDs: add (the default) or remove")
	fs.BoolVar(&f.removeAllFollowers, "remove-all-followers", false, "remove every follower first")
	addSharedLimiterFlags(fs)
	addStoreFlag(fs, &f.store, "take the token from the OAuth installs kept here (see leadway auth), by --location-id")
	return cmd
}

func runUpsert(ctx context.Context, f *upsertFlags, g *globalFlags, e env) int {
	req, fromFlags, err := f.request(e.stdin)
	if err != nil {
		return fail(e, err)
	}
	// The request is checked before anything else, the token included: a
	// mistake in it is what the user must fix first.
	if err := leadway.Validate(req); err != nil {
		if !fromFlags {
			return fail(e, requestProblems("upsert: --data", err, nil))
		}
		return fail(e, requestProblems("upsert", err, fieldFlags))
	}
	if f.timeout < 0 {
		return fail(e, usageErrorf("upsert: --timeout %s: must not be negative (0 waits forever)", f.timeout))
	}
	opts := append([]leadway.Option{leadway.WithMaxRetries(f.maxRetries)}, g.clientOptions(e)...)
	if base := firstNonEmpty(f.baseURL, e.getenv("LEADWAY_BASE_URL")); base != "" {
		opts = append(opts, leadway.WithBaseURL(base))
	}
	token := e.getenv("LEADWAY_TOKEN")
	if f.dryRun {
		return dryRun(ctx, e, token, req, opts)
	}
	useStore, err := f.usesStore(e, token)
	if err != nil {
		return fail(e, err)
	}
	if token == "" && !useStore {
		return fail(e, usageErrorf("LEADWAY_TOKEN is not set: export the API token there (it is never taken from a flag), or use installs with --store"))
	}
	shared, release, err := sharedLimiterOptions(f.cmd)
	if err != nil {
		return fail(e, err)
	}
	defer release()
	client, closeStore, err := f.client(e, g, token, useStore, append(opts, shared...))
	if err != nil {
		return fail(e, err)
	}
	defer closeStore()
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	res, err := client.Upsert(ctx, req)
	if err != nil {
		return fail(e, withLoginHint(err))
	}
	// The answer exactly as the server sent it, fields the contract does
	// not describe included.
	out := res.Raw
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out[:len(out):len(out)], '\n')
	}
	if _, err := e.stdout.Write(out); err != nil {
		report(e, err)
		return exitFailure
	}
	return exitOK
}

// request builds the request from --data or from the field flags, and says
// which it came from.
func (f *upsertFlags) request(stdin io.Reader) (leadway.UpsertRequest, bool, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	if set["data"] {
		for _, name := range fieldFlags {
			if set[name] {
				return leadway.UpsertRequest{}, false, usageErrorf("upsert: --data and --%s cannot be combined; put every field in the JSON", name)
			}
		}
		req, err := readData(f.data, stdin)
		return req, false, err
	}
	opt := func(name, v string) *string {
		if !set[name] {
			return nil
		}
		return &v
	}
	req := leadway.UpsertRequest{
		Id:                   opt("id", f.id),
		PipelineId:           f.pipelineID,
		LocationId:           f.locationID,
		Name:                 opt("name", f.name),
		PipelineStageId:      opt("stage-id", f.stageID),
		AssignedTo:           opt("assigned-to", f.assignedTo),
		ContactId:            opt("contact-id", f.contactID),
		LostReasonId:         opt("lost-reason-id", f.lostReasonID),
		Followers:            f.followers,
		FollowersActionType:  leadway.FollowersAction(f.action),
		IsRemoveAllFollowers: f.removeAllFollowers,
	}
	if set["status"] {
		req.Status = leadway.Ptr(leadway.Status(f.status))
	}
	if set["value"] {
		req.MonetaryValue = &f.value
	}
	return req, true, nil
}

// readData decodes the request from --data: @file, - (or @-) for stdin, or
// the JSON text itself. Unknown fields are refused, as the API refuses them.
func readData(spec string, stdin io.Reader) (leadway.UpsertRequest, error) {
	var r io.Reader
	switch {
	case spec == "-" || spec == "@-":
		r = stdin
	case strings.HasPrefix(spec, "@"):
		file, err := os.Open(spec[1:])
		if err != nil {
			return leadway.UpsertRequest{}, usageErrorf("--data: %v", err)
		}
		defer file.Close()
		r = file
	default:
		r = strings.NewReader(spec)
	}
	// A request body is small; a runaway input is refused rather than read whole.
	data, err := io.ReadAll(io.LimitReader(r, maxDataBytes+1))
	if err != nil {
		return leadway.UpsertRequest{}, usageErrorf("--data: %v", err)
	}
	if len(data) > maxDataBytes {
		return leadway.UpsertRequest{}, usageErrorf("--data: more than %d bytes; an upsert request is far smaller", maxDataBytes)
	}
	var req leadway.UpsertRequest
	if err := decodeJSON(data, &req); err != nil {
		return leadway.UpsertRequest{}, usageErrorf("--data: %v", err)
	}
	return req, nil
}

// maxDataBytes bounds what --data reads.
const maxDataBytes = 1 << 20

// asUsage marks an error of the client's construction (a bad base URL or
// token) as the caller's mistake.
func asUsage(err error) error {
	return &usageError{msg: strings.TrimPrefix(err.Error(), "leadway: ")}
}

// writeJSON prints v as indented JSON, for people and jq alike.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
