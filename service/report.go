package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/report"
	"github.com/carebook/carebook/store"
)

// ChannelReport is the audit log's channel for reports.
const ChannelReport = "report"

// Report reads the report's numbers, audits the read, and suppresses small
// counts before anything leaves.
func (v *view) Report(ctx context.Context, req backend.ReportRequest) (*report.Report, error) {
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
	return report.Build(in), nil
}
