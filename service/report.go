package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/report"
	"github.com/carebook/carebook/store"
)

// ChannelReport is the audit log's channel for reports.
const ChannelReport = "report"

// Report reads the report's numbers, audits the read, suppresses small
// counts and renders the page or its JSON before anything leaves: through
// carebook serve the client receives the finished file, never the numbers
// that suppression hid, and needs no copy of the charts' layout.
func (v *view) Report(ctx context.Context, req backend.ReportRequest) (*backend.ReportFile, error) {
	render := report.WriteHTML
	switch req.Format {
	case "", "html":
		req.Format = "html"
	case "json":
		render = report.WriteJSON
	default:
		return nil, fmt.Errorf("report: unknown format %q (expected html or json)", req.Format)
	}
	period := report.Period{From: req.From, To: req.To}
	var in *report.Inputs
	err := v.s.cfg.DB.Read(ctx, func(st *store.Store) error {
		var err error
		if in, err = report.Gather(ctx, st.Reader(), period, v.s.cfg.Now()); err != nil {
			return err
		}
		// The report holds aggregates only, so the row names no patient: it
		// says which panels and which period were read, as a read's row
		// must, and is written before the report leaves.
		action, err := json.Marshal(map[string]any{"tool": "report", "args": map[string]any{
			"from": period.From.Format(time.DateOnly), "to": period.Last().Format(time.DateOnly),
			"trend_from": period.Trend().From.Format(time.DateOnly), "panels": report.PanelIDs(), "format": req.Format,
		}})
		if err != nil {
			return err
		}
		entry := v.entry(ChannelReport)
		entry.Action = string(action)
		return st.LogOutcome(ctx, entry, nil, 0, store.OutcomeOK, "")
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := render(&buf, report.Build(in)); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &backend.ReportFile{Format: req.Format, Data: buf.Bytes()}, nil
}
