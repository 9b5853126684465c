//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The report test needs a real browser, not the Ollama harness: it opens
// the page in headless Chromium (Debian's chromium package; .ci/run
// installs it) with the network off, and keeps what it saw in e2e/out.

// browser is headless Chromium, run once per page with a fresh profile.
type browser struct {
	t    *testing.T
	bin  string
	dir  string
	netn bool // runs in a network namespace of its own, with no network
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no Chromium: install it (apt-get install -y chromium); the report test needs a real browser")
	}
	b := &browser{t: t, bin: bin, dir: t.TempDir()}
	// A network namespace of its own means nothing the browser does can
	// leave the machine, whatever Chromium's own background habits. It
	// needs root (CI is root); elsewhere the resolver rule below still
	// stops every name lookup.
	if err := exec.Command("unshare", "--net", "true").Run(); err == nil {
		b.netn = true
	} else {
		t.Logf("no network namespace (%v): relying on --host-resolver-rules", err)
	}
	return b
}

// run opens url with extra flags and returns stdout and the URLs the page
// asked the network for, from Chromium's NetLog. Chromium's own
// background requests (initiator "not an origin") are not the page's.
func (b *browser) run(name, url string, extra ...string) (stdout string, pageRequests []string) {
	b.t.Helper()
	netlog := filepath.Join(b.dir, name+".netlog.json")
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + filepath.Join(b.dir, name+".profile"),
		"--log-net-log=" + netlog, "--hide-scrollbars",
	}
	args = append(append(args, extra...), url)
	bin := b.bin
	if b.netn {
		args = append([]string{"--net", bin}, args...)
		bin = "unshare"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+b.dir)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("chromium %s: %v\n%s", name, err, errOut.String())
	}
	return string(out), readNetLog(b.t, netlog)
}

// readNetLog lists the URLs of requests a page made: URL_REQUEST_START_JOB
// events with an initiator. Chromium writes the log as JSON on exit.
func readNetLog(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no NetLog: %v", err)
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL       string `json:"url"`
				Initiator string `json:"initiator"`
			} `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("NetLog: %v", err)
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("the NetLog names no URL_REQUEST_START_JOB events: cannot tell requests apart")
	}
	var urls []string
	for _, e := range log.Events {
		if e.Type == start && e.Params.URL != "" && e.Params.Initiator != "not an origin" {
			urls = append(urls, e.Params.URL)
		}
	}
	return urls
}

// inkRatio is the share of pixels that are not background (near white,
// or near the dark theme's background), and the share in the charts' first
// series colour, light or dark.
func inkRatio(t *testing.T, path string, dark bool) (ink, series float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	bounds := img.Bounds()
	var inked, blue, total int
	near := func(r, g, b, R, G, B uint32) bool {
		d := func(x, y uint32) bool { return x+12 >= y && y+12 >= x }
		return d(r, R) && d(g, G) && d(b, B)
	}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			total++
			bg := near(r, g, b, 255, 255, 255)
			if dark {
				bg = near(r, g, b, 0x14, 0x17, 0x1b)
			}
			if !bg {
				inked++
			}
			if near(r, g, b, 0x2f, 0x6d, 0xb5) || near(r, g, b, 0x6e, 0xa8, 0xea) {
				blue++
			}
		}
	}
	return float64(inked) / float64(total), float64(blue) / float64(total)
}

func pixelAt(t *testing.T, path string, x, y int) (r, g, b uint32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ = img.At(x, y).RGBA()
	return r >> 8, g >> 8, b >> 8
}

func TestReportInABrowserWithNoNetwork(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skip("shared fixtures not found")
	}
	br := newBrowser(t)
	out, err := filepath.Abs("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}

	// The fixture practice's May 2026, written by the real binary.
	dir := t.TempDir()
	env := append(os.Environ(), "CAREBOOK_DB="+filepath.Join(dir, "practice.duckdb"), "CAREBOOK_NOW=2026-06-15T10:00:00Z",
		"HOME="+dir, "XDG_CONFIG_HOME="+dir)
	// at runs carebook as if it were that instant (CAREBOOK_NOW).
	at := func(now string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(carebookBin, args...)
		cmd.Env = append(append([]string{}, env...), "CAREBOOK_NOW="+now)
		b, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("carebook %s: %v\n%s%s", strings.Join(args, " "), err, b, stderr)
		}
		return b
	}
	carebook := func(args ...string) { t.Helper(); at("2026-06-15T10:00:00Z", args...) }
	carebook("init")
	for _, kind := range []string{"patients", "appointments", "interactions"} {
		carebook("import", kind, filepath.Join(fixtureDir, kind+".csv"))
	}
	// Recalls: the diabetics' due in May, made on 5 May, most of them done
	// on 25 May; the asthmatics' due in April and still open.
	at("2026-05-05T10:00:00Z", "task", "add", "--where", `{"tags":["diabetes"]}`, "Diabetes recall", "--due", "2026-05-20", "--yes")
	at("2026-04-01T10:00:00Z", "task", "add", "--where", `{"tags":["asthma"]}`, "Asthma review", "--due", "2026-04-20", "--yes")
	var tasks []struct {
		ID   int64
		Text string
	}
	if err := json.Unmarshal(at("2026-05-25T10:00:00Z", "task", "list", "--json"), &tasks); err != nil {
		t.Fatal(err)
	}
	diabetics := 0
	for _, task := range tasks {
		if task.Text == "Diabetes recall" {
			diabetics++
			if diabetics <= 15 {
				at("2026-05-25T10:00:00Z", "task", "done", fmt.Sprint(task.ID), "--yes")
			}
		}
	}
	if diabetics <= 15 {
		t.Fatalf("%d diabetes recalls made: the fixture changed", diabetics)
	}
	page := filepath.Join(out, "report-fixture-2026-05.html")
	carebook("report", "--month", "2026-05", "-o", page, "--force")
	url := "file://" + page

	// First, that the NetLog would show a request if the page made one: a
	// page without the CSP that loads an image.
	control := filepath.Join(dir, "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><html><body><p>control</p><img src="http://127.0.0.1:9/x.png"></body></html>`), 0o600)
	if _, reqs := br.run("control", "file://"+control, "--dump-dom"); len(reqs) == 0 {
		t.Fatal("the control page's image request is not in the NetLog: this test could not see a request from the report either")
	}

	// The page's CSP is in force, not just present: the same page with an
	// image from the network slipped in asks for nothing.
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "planted.html")
	os.WriteFile(planted, []byte(strings.Replace(string(html), "</body>", `<img src="http://127.0.0.1:9/x.png"></body>`, 1)), 0o600)
	if _, reqs := br.run("planted", "file://"+planted, "--dump-dom"); len(reqs) > 0 {
		t.Errorf("the CSP let the page ask the network for %v", reqs)
	}

	// The DOM as the browser built it: every panel is there, and the CSP.
	dom, reqs := br.run("dom", url, "--dump-dom")
	if len(reqs) > 0 {
		t.Errorf("the report asked the network for %v", reqs)
	}
	for _, title := range []string{"At a glance", "Appointments by status", "Appointments by provider", "New patients by month",
		"Recall tasks: due, done and overdue", "Contacts by channel and direction", "Active patients by tag (top 15)", "Marketing consent in and out"} {
		if !strings.Contains(dom, title) {
			t.Errorf("the rendered page lacks the panel %q", title)
		}
	}
	if strings.Count(dom, "<svg") != 7 || !strings.Contains(dom, "Content-Security-Policy") {
		t.Errorf("the rendered page has %d charts (want 7) or no CSP", strings.Count(dom, "<svg"))
	}
	// The recall panel, filled: 15 of the diabetics' recalls done, the rest
	// overdue, and the asthmatics' April recall overdue still.
	recalls := regexp.MustCompile(`(?s)<section class="panel" id="recall-tasks".*?</section>`).FindString(dom)
	for _, w := range []string{"<svg", fmt.Sprintf(`<th scope="row">Diabetes recall</th><td>15</td><td>%d</td><td>%d</td><td>0</td>`, diabetics-15, diabetics),
		`<th scope="row">Asthma review</th><td>0</td><td>0</td><td>0</td>`} {
		if !strings.Contains(recalls, w) {
			t.Errorf("the recall panel lacks %q:\n%s", w, recalls)
		}
	}

	// Screenshots, light and dark: not blank, and the charts are drawn.
	for _, mode := range []struct {
		name string
		dark bool
		flag string
	}{
		{"light", false, "--blink-settings=preferredColorScheme=1"},
		{"dark", true, "--blink-settings=preferredColorScheme=0"},
	} {
		shot := filepath.Join(out, "report-fixture-2026-05-"+mode.name+".png")
		os.Remove(shot)
		_, reqs := br.run("shot-"+mode.name, url, "--window-size=1000,5600", "--screenshot="+shot, mode.flag)
		if len(reqs) > 0 {
			t.Errorf("%s: the report asked the network for %v", mode.name, reqs)
		}
		ink, blue := inkRatio(t, shot, mode.dark)
		t.Logf("screenshot (%s): %s (%.1f%% ink, %.2f%% chart blue)", mode.name, shot, ink*100, blue*100)
		if ink < 0.03 || blue < 0.005 {
			t.Errorf("%s screenshot looks blank: %.1f%% ink, %.2f%% in the charts' colour", mode.name, ink*100, blue*100)
		}
		if r, g, b := pixelAt(t, shot, 2, 2); mode.dark != (r+g+b < 3*80) {
			t.Errorf("%s screenshot's background is rgb(%d,%d,%d)", mode.name, r, g, b)
		}
	}
	// Printed (Chromium's default paper, Letter): a PDF of a few pages,
	// one or two panels to a page, kept beside the screenshots.
	pdf := filepath.Join(out, "report-fixture-2026-05.pdf")
	os.Remove(pdf)
	if _, reqs := br.run("print", url, "--no-pdf-header-footer", "--print-to-pdf="+pdf); len(reqs) > 0 {
		t.Errorf("print: the report asked the network for %v", reqs)
	}
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	pages := regexp.MustCompile(`/Type /Page\b`).FindAll(data, -1)
	t.Logf("printed: %s (%d pages)", pdf, len(pages))
	if !bytes.HasPrefix(data, []byte("%PDF")) || len(pages) < 2 || len(pages) > 9 {
		t.Errorf("the printed report has %d pages, want 2 to 9", len(pages))
	}
	t.Logf("report: %s", page)
}
