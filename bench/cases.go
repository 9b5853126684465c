// Package bench measures Carebook at a practice's scale: a demo database of
// 100k patients, 300k appointments and 1M interactions. The query cases
// here are shared by the testing.B benchmarks (benchstat-friendly) and by
// the driver (bench/driver), which prints the table `make bench` shows.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

// Now is the benchmark's clock, as CAREBOOK_NOW fixes it for the demo data.
var Now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// Case is one representative question, asked as a tool action and as the
// best SQL a person would write for it by hand.
type Case struct {
	Name   string
	Action string
	// SQL returns the hand-written query and its arguments.
	SQL func() (string, []any)
}

func wallRange(s string) (time.Time, time.Time) {
	r, err := tools.ParseRange(s, Now)
	if err != nil {
		panic(err)
	}
	return store.Wall(r.From), store.Wall(r.To)
}

func wallPoint(s string) time.Time {
	t, err := tools.ParsePoint(s, Now)
	if err != nil {
		panic(err)
	}
	return store.Wall(t)
}

// handPatientColumns is the patient row the tools return, with the tags
// gathered by a join rather than per row.
const handPatientList = `SELECT p.id, p.mrn, p.first_name, p.last_name, p.dob, p.sex, p.email, p.phone, p.city, p.language,
	p.marketing_consent, p.consent_changed_at, p.status, p.created_at, p.updated_at,
	coalesce(list(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), [])
	FROM patients p LEFT JOIN patient_tags pt ON pt.patient_id = p.id LEFT JOIN tags t ON t.id = pt.tag_id
	WHERE %s GROUP BY ALL ORDER BY p.last_name, p.first_name, p.mrn`

// Cases are the ten questions of the query-latency table.
var Cases = []Case{
	{"tag filter (list vip)", `{"tool":"query","args":{"entity":"patients","where":{"tags":["vip"]}}}`,
		func() (string, []any) {
			return fmt.Sprintf(handPatientList, `p.id IN (SELECT pt2.patient_id FROM patient_tags pt2 JOIN tags t2 ON t2.id = pt2.tag_id WHERE t2.name = 'vip')`), nil
		}},
	{"no visit in 12 months (count)", `{"tool":"query","args":{"entity":"patients","where":{"status":"active","last_visit_before":"12 months ago"},"output":"count"}}`,
		func() (string, []any) {
			return `SELECT count(*) FROM patients p WHERE p.status = 'active' AND NOT EXISTS
				(SELECT 1 FROM appointments a WHERE a.patient_id = p.id AND a.status = 'completed' AND a.starts_at >= ?)`, []any{wallPoint("12 months ago")}
		}},
	{"no-shows in 90 days by provider", `{"tool":"query","args":{"entity":"appointments","appointments":{"status":"no-show","when":"last 90 days"},"output":"groups","group_by":"provider"}}`,
		func() (string, []any) {
			from, to := wallRange("last 90 days")
			return `SELECT provider, count(*) FROM appointments WHERE status = 'no-show' AND starts_at >= ? AND starts_at < ?
				GROUP BY provider ORDER BY count(*) DESC, provider`, []any{from, to}
		}},
	{"name search (garcia)", `{"tool":"query","args":{"entity":"patients","where":{"name":"garcia"}}}`,
		func() (string, []any) {
			return fmt.Sprintf(handPatientList, `contains(strip_accents(lower(p.first_name || ' ' || p.last_name)), 'garcia')`), nil
		}},
	{"birthday month (June, list)", `{"tool":"query","args":{"entity":"patients","where":{"birthday_month":6}}}`,
		func() (string, []any) { return fmt.Sprintf(handPatientList, `month(p.dob) = 6`), nil }},
	{"interactions by channel", `{"tool":"query","args":{"entity":"interactions","output":"groups","group_by":"channel"}}`,
		func() (string, []any) {
			return `SELECT channel, count(*) FROM interactions GROUP BY channel ORDER BY count(*) DESC, channel`, nil
		}},
	{"tag count (diabetes)", `{"tool":"query","args":{"entity":"patients","where":{"tags":["diabetes"]},"output":"count"}}`,
		func() (string, []any) {
			return `SELECT count(*) FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'diabetes'`, nil
		}},
	{"appointments next 7 days (list)", `{"tool":"query","args":{"entity":"appointments","appointments":{"when":"next 7 days"}}}`,
		func() (string, []any) {
			from, to := wallRange("next 7 days")
			return `SELECT a.id, a.external_id, a.patient_id, p.mrn, a.starts_at, a.type, a.provider, a.status
				FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE a.starts_at >= ? AND a.starts_at < ?
				ORDER BY a.starts_at, a.id`, []any{from, to}
		}},
	{"Spanish + consent (count)", `{"tool":"query","args":{"entity":"patients","where":{"language":"Spanish","marketing_consent":true},"output":"count"}}`,
		func() (string, []any) {
			return `SELECT count(*) FROM patients WHERE lower(language) = 'spanish' AND marketing_consent`, nil
		}},
	{"emails sent last month (count)", `{"tool":"query","args":{"entity":"interactions","interactions":{"channel":"email","direction":"outbound","when":"last month"},"output":"count"}}`,
		func() (string, []any) {
			from, to := wallRange("last month")
			return `SELECT count(*) FROM interactions WHERE channel = 'email' AND direction = 'outbound' AND occurred_at >= ? AND occurred_at < ?`, []any{from, to}
		}},
}

// Env is the tools' environment for the benchmark.
func Env() tools.Env { return tools.Env{Now: Now, Staff: "bench"} }

// RunTool prepares and executes c's action as the CLI does, audit row
// included, and returns the number of rows it counted.
func RunTool(ctx context.Context, st *store.Store, c Case) (int, error) {
	a, err := tools.ParseAction([]byte(c.Action))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	plan, err := tools.Prepare(ctx, st.Reader(), a, Env())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	res, err := plan.Execute(ctx, st, store.AuditEntry{Channel: "bench"})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	return res.Count, nil
}

// RunSQL runs c's hand-written query on db and reads every row, and
// returns the count (the value of a count, the sum of groups, or the rows).
func RunSQL(ctx context.Context, db *sql.DB, c Case) (int, error) {
	q, args := c.SQL()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n, sum := 0, 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		n++
		if v, ok := vals[len(vals)-1].(int64); ok && len(cols) <= 2 {
			sum += int(v)
		}
	}
	if len(cols) <= 2 {
		return sum, rows.Err()
	}
	return n, rows.Err()
}

// DemoPath is the cached demo database, built once by `make bench`.
func DemoPath() string {
	if p := os.Getenv("CAREBOOK_BENCH_DB"); p != "" {
		return p
	}
	return filepath.Join("bench", "out", "demo-100k.duckdb")
}
