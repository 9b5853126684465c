package root

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/carebook/carebook/store"
)

// lastAudit is the newest audit row.
func (p *practice) lastAudit() store.AuditRow {
	rows := p.auditRows()
	if len(rows) == 0 {
		p.t.Fatal("no audit rows")
	}
	return rows[len(rows)-1]
}

// A refused endpoint or cloud model stops the request before it leaves,
// exits non-zero with the rule, and is audited as refused, without the
// request text.
func TestGuardRefusalsAreAuditedWithoutTheRequest(t *testing.T) {
	const request = "how many patients named Jon Smyth have diabetes"
	cases := []struct {
		name  string
		setup func(p *practice) (requests func() int)
		want  string
	}{
		{"public endpoint", func(p *practice) func() int {
			srv := p.withModel(countDiabetes)
			p.env["CAREBOOK_OLLAMA_HOST"] = "http://203.0.113.7:11434"
			return srv.RequestCount
		}, "refused: 203.0.113.7 is not a local address; Carebook only talks to Ollama on this machine (see allowed_hosts)"},
		{"metadata endpoint from OLLAMA_HOST", func(p *practice) func() int {
			srv := p.withModel(countDiabetes)
			delete(p.env, "CAREBOOK_OLLAMA_HOST")
			p.env["OLLAMA_HOST"] = "169.254.169.254"
			return srv.RequestCount
		}, "refused: 169.254.169.254 is a link-local address"},
		{"ollama.com", func(p *practice) func() int {
			srv := p.withModel(countDiabetes)
			p.env["CAREBOOK_OLLAMA_HOST"] = "https://ollama.com"
			return srv.RequestCount
		}, "refused: ollama.com is Ollama's cloud"},
		{"cloud model by name", func(p *practice) func() int {
			srv := p.withModel(countDiabetes)
			srv.Model = "gpt-oss:120b-cloud"
			p.env["CAREBOOK_MODEL"] = "gpt-oss:120b-cloud"
			return srv.RequestCount
		}, "runs in Ollama's cloud (its name ends in cloud)"},
		{"cloud model by /api/show", func(p *practice) func() int {
			srv := p.withModel(countDiabetes)
			srv.Remote = true
			return srv.ChatCount
		}, "Ollama reports that it is served from https://ollama.com:443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPractice(t)
			p.importFixture()
			requests := c.setup(p)
			o := p.run("", false, "ask", request)
			if o.code == 0 || !strings.Contains(o.stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want %q", o.code, o.stderr, c.want)
			}
			if n := requests(); n != 0 {
				t.Errorf("the server received %d requests", n)
			}
			row := p.lastAudit()
			if row.Outcome != store.OutcomeRefused || row.Request != "" || strings.Contains(row.Action+row.Message, "Smyth") {
				t.Errorf("audit row %+v", row)
			}
		})
	}
}

// A chat answer that came from the cloud is refused, not used.
func TestCloudChatAnswerIsRefused(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	srv.RemoteChat = true
	o := p.run("", false, "ask", "how many have diabetes")
	if o.code == 0 || !strings.Contains(o.stderr, "the answer came from https://ollama.com:443") || strings.Contains(o.stdout, "27") {
		t.Fatalf("exit %d, %q %q", o.code, o.stdout, o.stderr)
	}
	if row := p.lastAudit(); row.Outcome != store.OutcomeRefused || row.Request != "" {
		t.Errorf("audit row %+v", row)
	}
}

type lanDNS map[string]string

func (d lanDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ip, ok := d[host]; ok {
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// A private host listed in carebook.toml beside the database is let
// through; unlisted, it is refused. The "LAN" is the scripted server: the
// dial hook connects whatever address the guard passed to it.
func TestAllowedHostsFromConfigFile(t *testing.T) {
	p := newPractice(t)
	p.importFixture()
	srv := p.withModel(countDiabetes)
	p.env["CAREBOOK_OLLAMA_HOST"] = "http://gpu.lan:11434"
	p.resolver = lanDNS{"gpu.lan": "10.9.8.7"}
	var dialled []string
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	o := p.run("", false, "ask", "how many have diabetes")
	if !strings.Contains(o.stderr, "10.9.8.7 is a private-network address not listed in allowed_hosts") || len(dialled) != 0 {
		t.Fatalf("unlisted: %q, dialled %v", o.stderr, dialled)
	}
	p.writeConfig("allowed_hosts = [\"gpu.lan\"]\n")
	o = p.run("", false, "ask", "how many have diabetes")
	if o.code != 0 || strings.TrimSpace(o.stdout) != "27" || len(dialled) == 0 || !strings.HasPrefix(dialled[0], "10.9.8.7:") {
		t.Fatalf("listed: exit %d %q %q, dialled %v", o.code, o.stdout, o.stderr, dialled)
	}
	p.writeConfig("allowed_host = [\"gpu.lan\"]\n")
	if o := p.run("", false, "ask", "anything"); o.code == 0 || !strings.Contains(o.stderr, "unknown setting allowed_host") {
		t.Fatalf("typo in the file: %q", o.stderr)
	}
}
