package main

import (
	"github.com/spf13/cobra"
)

func newImportCmd(e env, g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "import FILE", Hidden: true}
}
