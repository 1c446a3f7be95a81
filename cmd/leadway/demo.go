package main

import (
	"context"
	"fmt"
	"io"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/spf13/cobra"
)

func newDemoCmd(e env, g *globalFlags) *cobra.Command {
	var webhookURL, writeCSV string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Create and update an opportunity against an in-process fake",
		Long: `Starts a fake Leadway API in this process, creates an opportunity, then
updates it with a new stage and value, and prints both answers. It needs no
account, token or network. With --webhook-url, the fake also sends the
webhooks of both changes there, as "leadway fake --webhook-url" does, and
the demo waits for them before it ends. With --write-csv FILE, it writes a
sample file of deals for "leadway import" instead, and sends nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if writeCSV != "" {
				return status(writeSampleDeals(e, writeCSV))
			}
			hooks, err := demoWebhooks(webhookURL)
			if err != nil {
				return status(fail(e, err))
			}
			if err := demo(cmd.Context(), e.stdout, hooks, g.clientOptions(e)...); err != nil {
				report(e, err)
				return status(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&webhookURL, "webhook-url", "", "also send the changes' webhooks, signed with the fake's test key, to this `URL`")
	cmd.Flags().StringVar(&writeCSV, "write-csv", "", "write a sample CSV of deals to `FILE` for leadway import, and do nothing else")
	return cmd
}

// demo walks through a create and an update against an in-process fake
// started with hooks. opts, such as --verbose's logger, go to the client.
func demo(ctx context.Context, out io.Writer, hooks []leadwaytest.Option, opts ...leadway.Option) error {
	srv, err := leadwaytest.Start(hooks...)
	if err != nil {
		return err
	}
	defer srv.Close()
	client, err := srv.Client(opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Started a fake Leadway API at %s (no account needed).\n\n", srv.URL)

	created, err := client.Upsert(ctx, leadway.UpsertRequest{
		PipelineId:      "pipe-sales",
		LocationId:      "loc-demo",
		Name:            leadway.Ptr("Website redesign"),
		Status:          leadway.Ptr(leadway.StatusOpen),
		PipelineStageId: leadway.Ptr("stage-qualified"),
		MonetaryValue:   leadway.Ptr(220.0),
		Followers:       []string{"user-alice"},
	})
	if err != nil {
		return err
	}
	o := created.Opportunity
	fmt.Fprintf(out, "1. Upsert without an id:\ncreated opportunity %s %q in stage %s, value %g, new=%t\n",
		o.Id, o.Name, o.PipelineStageId, o.MonetaryValue, created.New)
	if err := writeJSON(out, created); err != nil {
		return err
	}

	updated, err := client.Upsert(ctx, leadway.UpsertRequest{
		Id:              leadway.Ptr(o.Id),
		PipelineId:      "pipe-sales",
		LocationId:      "loc-demo",
		PipelineStageId: leadway.Ptr("stage-proposal"),
		MonetaryValue:   leadway.Ptr(1500.5),
	})
	if err != nil {
		return err
	}
	o = updated.Opportunity
	fmt.Fprintf(out, "\n2. Upsert again with its id, a new stage and a new value:\nupdated opportunity %s %q in stage %s, value %g, new=%t\n",
		o.Id, o.Name, o.PipelineStageId, o.MonetaryValue, updated.New)
	if err := writeJSON(out, updated); err != nil {
		return err
	}
	return demoWaitWebhooks(ctx, out, srv)
}
