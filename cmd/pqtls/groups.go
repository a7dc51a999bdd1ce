package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/pqtls/pqtls"
	"github.com/spf13/cobra"
)

// groupsJSONSchema versions the JSON output of 'pqtls groups'.
const groupsJSONSchema = "pqtls.groups/v1"

type groupJSON struct {
	Codepoint       string   `json:"codepoint"`
	ID              uint16   `json:"id"`
	Name            string   `json:"name"`
	Label           string   `json:"label"`
	Kind            string   `json:"kind"`
	Aliases         []string `json:"aliases"`
	ClientShareSize int      `json:"client_share_bytes"`
	ServerShareSize int      `json:"server_share_bytes"`
	GoSupported     bool     `json:"go_supported"`
}

func newGroupsCmd(s streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List the TLS named groups pqtls knows (codepoint, names, kind, key-share sizes, aliases)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			groups := pqtls.Groups()
			switch format {
			case "json":
				out := struct {
					Schema string      `json:"schema"`
					Groups []groupJSON `json:"groups"`
				}{Schema: groupsJSONSchema}
				for _, g := range groups {
					aliases := g.Aliases
					if aliases == nil {
						aliases = []string{}
					}
					out.Groups = append(out.Groups, groupJSON{
						Codepoint: fmt.Sprintf("0x%04X", uint16(g.ID)), ID: uint16(g.ID), Name: g.Name, Label: g.Label,
						Kind: string(g.Kind), Aliases: aliases, ClientShareSize: g.ClientShareSize,
						ServerShareSize: g.ServerShareSize, GoSupported: g.GoSupported,
					})
				}
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			case "table", "":
				tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CODEPOINT\tNAME\tLABEL\tKIND\tCLIENT SHARE\tSERVER SHARE\tGO\tALIASES")
				for _, g := range groups {
					goSup, aliases := "-", "-"
					if g.GoSupported {
						goSup = "yes"
					}
					if len(g.Aliases) > 0 {
						aliases = strings.Join(g.Aliases, ",")
					}
					fmt.Fprintf(tw, "0x%04X\t%s\t%s\t%s\t%d B\t%d B\t%s\t%s\n", uint16(g.ID), g.Name, g.Label, g.Kind, g.ClientShareSize, g.ServerShareSize, goSup, aliases)
				}
				return tw.Flush()
			default:
				return usageErrorf("unknown --format %q: use table or json", format)
			}
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
