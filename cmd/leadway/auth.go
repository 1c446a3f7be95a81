package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/leadwaycrm/leadway/oauth"
	"github.com/spf13/cobra"
)

const authLong = `Keeps the OAuth installs of a Marketplace app: "leadway auth login" sends you
to install the app and stores the install, "leadway auth status" lists what is
stored, and "leadway auth logout" removes an install. "leadway upsert --store"
then takes each call's token from the installs, refreshing it when due.

The app's credentials come from LEADWAY_CLIENT_ID and LEADWAY_CLIENT_SECRET
(the secret only from there). Installs are kept in a file under your config
directory, readable by you alone, or in Redis with --store redis://..., which
the replicas of a service can share. No command prints a token.`

// authFlags holds the flags of the auth commands.
type authFlags struct {
	store string
}

func newAuthCmd(e env, g *globalFlags) *cobra.Command {
	f := &authFlags{}
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Install the app with OAuth and keep its installs",
		Long:  authLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(e.stderr, cmd.UsageString())
			return status(exitUsage)
		},
	}
	addStoreFlag(cmd.PersistentFlags(), &f.store, "where installs are kept")
	cmd.AddCommand(newLoginCmd(e, g, f), newStatusCmd(e, f), newLogoutCmd(e, f))
	return cmd
}

func newStatusCmd(e env, f *authFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the stored installs and when their tokens expire; never a token",
		Long: `Lists the stored installs: which location or agency, its approved locations,
the scope granted and when the access token expires (a token past its expiry
is refreshed on its next use). It prints no token. Exit codes: 0 listed
(also when there are none), 2 a bad --store, 1 the store could not be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(runStatus(cmd.Context(), f, asJSON, e))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, for scripts")
	return cmd
}

// installView is what status shows of an install: everything but tokens.
type installView struct {
	Key               string    `json:"key"`
	UserType          string    `json:"userType"`
	LocationID        string    `json:"locationId,omitempty"`
	CompanyID         string    `json:"companyId,omitempty"`
	ApprovedLocations []string  `json:"approvedLocations,omitempty"`
	Scope             string    `json:"scope,omitempty"`
	Expiry            time.Time `json:"expiry"`
	Expired           bool      `json:"expired"`
}

func runStatus(ctx context.Context, f *authFlags, asJSON bool, e env) int {
	st, err := openStore(storeSpec(f.store, e))
	if err != nil {
		return fail(e, err)
	}
	defer st.close()
	installs, err := oauth.ListInstalls(ctx, st)
	if err != nil {
		return fail(e, err)
	}
	now := time.Now()
	views := make([]installView, 0, len(installs))
	for _, in := range installs {
		views = append(views, installView{Key: in.Key(), UserType: string(in.UserType), LocationID: in.LocationID, CompanyID: in.CompanyID,
			ApprovedLocations: in.ApprovedLocations, Scope: in.Scope, Expiry: in.Expiry.UTC(), Expired: !now.Before(in.Expiry)})
	}
	if asJSON {
		if err := writeJSON(e.stdout, views); err != nil {
			report(e, err)
			return exitFailure
		}
		return exitOK
	}
	if len(views) == 0 {
		fmt.Fprintf(e.stdout, "No installs in %s. Run leadway auth login to add one.\n", st.name)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Installs in %s:\n", st.name)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTALL\tTYPE\tLOCATIONS\tTOKEN EXPIRES\tSCOPE")
	for _, v := range views {
		locs := v.LocationID
		if v.UserType == string(oauth.Company) {
			locs = fmt.Sprintf("%d approved", len(v.ApprovedLocations))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Key, v.UserType, locs, expiresIn(v.Expiry, now), v.Scope)
	}
	_ = tw.Flush()
	return exitOK
}

// expiresIn says when a token expires, for people: the time, and how far
// off it is in its largest unit.
func expiresIn(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return t.Format(time.RFC3339) + " (expired; refreshed on next use)"
	case d >= time.Hour:
		return fmt.Sprintf("%s (in %dh)", t.Format(time.RFC3339), int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%s (in %dm)", t.Format(time.RFC3339), int(d.Minutes()))
	}
	return fmt.Sprintf("%s (in %ds)", t.Format(time.RFC3339), int(d.Seconds()))
}

func newLogoutCmd(e env, f *authFlags) *cobra.Command {
	var locationID, companyID string
	cmd := &cobra.Command{
		Use:   "logout (--location-id ID | --company-id ID)",
		Short: "Remove a stored install",
		Long: `Removes the install of a location (--location-id) or of an agency
(--company-id), with the location tokens minted from it. Its tokens stay
valid at the server until they expire; uninstall the app in HighLevel to
revoke them. Exit codes: 0 removed, 2 usage or no such install, 1 the store
failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (locationID == "") == (companyID == "") {
				return usageErrorf("auth logout: pass one of --location-id and --company-id (see leadway auth status)")
			}
			key := oauth.LocationKey(locationID)
			if companyID != "" {
				key = oauth.CompanyKey(companyID)
			}
			return status(runLogout(cmd.Context(), f, key, e))
		},
	}
	cmd.Flags().StringVar(&locationID, "location-id", "", "remove the install of location `ID`")
	cmd.Flags().StringVar(&companyID, "company-id", "", "remove the agency install of company `ID`")
	return cmd
}

func runLogout(ctx context.Context, f *authFlags, key string, e env) int {
	st, err := openStore(storeSpec(f.store, e))
	if err != nil {
		return fail(e, err)
	}
	defer st.close()
	if _, err := oauth.DeleteInstall(ctx, st, key); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return fail(e, usageErrorf("auth logout: no install %s in %s (see leadway auth status)", key, st.name))
		}
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "Removed %s from %s.\n", key, st.name)
	return exitOK
}
