package guard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/carebook/carebook/agent"
	"github.com/carebook/carebook/guard"
)

// fakeDNS answers from a table. A name with several answer sets gives the
// next one on each lookup, which is how a rebinding attacker behaves.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][][]string
	calls   map[string]int
}

func (f *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sets, ok := f.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(f.calls[host], len(sets)-1)
	f.calls[host]++
	var out []netip.Addr
	for _, s := range sets[i] {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// world is every listener a request could reach: a local "Ollama" that
// counts requests, and a dial hook that records each address the guard let
// through and connects it to that local server, whatever the IP, so that
// allowed private and public-looking cases can be exercised on one machine.
type world struct {
	server  *httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	dialled []string
}

func newWorld(t *testing.T) *world {
	w := &world{}
	w.server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		io.WriteString(rw, `{"version":"0.17.4"}`)
	}))
	t.Cleanup(w.server.Close)
	return w
}

func (w *world) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	w.dialled = append(w.dialled, addr)
	w.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, w.server.Listener.Addr().String())
}

func (w *world) client(p guard.Policy) *http.Client {
	p.Dial = w.dial
	return agent.NewHTTPClient(agent.ClientOptions{Dialer: p.DialContext, CheckURL: p.CheckURL})
}

func TestEndpoints(t *testing.T) {
	dns := map[string][][]string{
		"ollama.internal":          {{"127.0.0.1", "::1"}},
		"evil.example":             {{"93.184.216.34"}},
		"mixed.example":            {{"127.0.0.1", "203.0.113.7"}},
		"metadata.google.internal": {{"169.254.169.254"}},
		"gpu.lan":                  {{"192.168.1.20"}},
		"gpu6.lan":                 {{"fd00::20"}},
		"hijacked.lan":             {{"203.0.113.9"}},
		"zero.example":             {{"0.0.0.0"}},
		"mapped.example":           {{"::ffff:203.0.113.7"}},
		"cgnat.example":            {{"100.64.0.1"}},
	}
	cases := []struct {
		url     string
		allowed []string
		refused guard.Rule // "" means allowed
	}{
		// Loopback, however it is written canonically.
		{"http://127.0.0.1:11434", nil, ""},
		{"127.0.0.1", nil, ""},
		{"http://127.0.0.2:11434", nil, ""},
		{"http://localhost:11434", nil, ""},
		{"localhost", nil, ""},
		{"http://LOCALHOST:11434", nil, ""},
		{"http://localhost.:11434", nil, ""},
		{"http://[::1]:11434", nil, ""},
		{"http://[::ffff:127.0.0.1]:11434", nil, ""},
		{"http://ollama.internal:11434", nil, ""},
		// Public addresses, whatever the configuration says.
		{"http://203.0.113.7:11434", nil, guard.RulePublic},
		{"http://8.8.8.8", nil, guard.RulePublic},
		{"http://[2001:4860:4860::8888]:11434", nil, guard.RulePublic},
		{"http://203.0.113.7:11434", []string{"203.0.113.7"}, guard.RulePublic},
		{"http://8.8.8.8:11434", []string{"0.0.0.0/0"}, guard.RulePublic},
		{"http://evil.example:11434", nil, guard.RulePublic},
		{"http://evil.example:11434", []string{"evil.example"}, guard.RulePublic},
		{"http://mixed.example:11434", nil, guard.RuleMixed},
		{"http://100.64.0.1:11434", nil, guard.RulePublic},
		{"http://cgnat.example:11434", nil, guard.RulePublic},
		{"http://239.1.2.3:11434", nil, guard.RulePublic},
		{"http://255.255.255.255:11434", nil, guard.RulePublic},
		{"http://[2002:cb00:7107::1]:11434", nil, guard.RulePublic},
		// Link-local and metadata.
		{"http://169.254.169.254", nil, guard.RuleLinkLocal},
		{"http://169.254.169.254", []string{"169.254.169.254"}, guard.RuleLinkLocal},
		{"http://[fe80::1]:11434", nil, guard.RuleLinkLocal},
		{"http://metadata.google.internal", nil, guard.RuleLinkLocal},
		// The unspecified address.
		{"http://0.0.0.0:11434", nil, guard.RuleUnspecified},
		{"http://[::]:11434", nil, guard.RuleUnspecified},
		{"http://0.0.0.0:11434", []string{"0.0.0.0"}, guard.RuleUnspecified},
		{"http://zero.example:11434", nil, guard.RuleUnspecified},
		// IPv4-mapped IPv6.
		{"http://[::ffff:8.8.8.8]:11434", nil, guard.RulePublic},
		{"http://[::ffff:cb00:7107]:11434", nil, guard.RulePublic},
		{"http://[::ffff:169.254.169.254]:11434", nil, guard.RuleLinkLocal},
		{"http://[::ffff:192.168.1.5]:11434", nil, guard.RulePrivate},
		{"http://mapped.example:11434", nil, guard.RulePublic},
		// Odd spellings, of public and of loopback addresses alike.
		{"http://3627734734:11434", nil, guard.RuleOddSpelling},
		{"http://0x08080808:11434", nil, guard.RuleOddSpelling},
		{"http://0x08.0x08.0x08.0x08:11434", nil, guard.RuleOddSpelling},
		{"http://8.8.2056:11434", nil, guard.RuleOddSpelling},
		{"http://010.010.010.010:11434", nil, guard.RuleOddSpelling},
		{"http://2130706433:11434", nil, guard.RuleOddSpelling},
		{"http://0x7f000001:11434", nil, guard.RuleOddSpelling},
		{"http://0177.0.0.1:11434", nil, guard.RuleOddSpelling},
		{"http://127.1:11434", nil, guard.RuleOddSpelling},
		// Ollama's cloud.
		{"https://ollama.com", nil, guard.RuleCloud},
		{"http://ollama.com:11434", nil, guard.RuleCloud},
		{"https://api.ollama.com", nil, guard.RuleCloud},
		{"http://OLLAMA.COM.:11434", nil, guard.RuleCloud},
		{"http://ollama.com..:11434", nil, guard.RuleCloud},
		{"https://ollama.com", []string{"ollama.com"}, guard.RuleCloud},
		// Private networks: only when listed.
		{"http://10.0.0.5:11434", nil, guard.RulePrivate},
		{"http://10.0.0.5:11434", []string{"10.0.0.5"}, ""},
		{"http://192.168.1.20:11434", []string{"192.168.1.0/24"}, ""},
		{"http://192.168.2.20:11434", []string{"192.168.1.0/24"}, guard.RulePrivate},
		{"http://172.16.0.1:11434", nil, guard.RulePrivate},
		{"http://172.32.0.1:11434", nil, guard.RulePublic},
		{"http://gpu.lan:11434", nil, guard.RulePrivate},
		{"http://gpu.lan:11434", []string{"gpu.lan"}, ""},
		{"http://gpu.lan:11434", []string{"GPU.LAN."}, ""},
		{"http://gpu6.lan:11434", []string{"fd00::/8"}, ""},
		{"http://[fd00::20]:11434", nil, guard.RulePrivate},
		{"http://hijacked.lan:11434", []string{"hijacked.lan"}, guard.RulePublic},
		// https only to a listed host.
		{"https://127.0.0.1:11434", nil, guard.RuleHTTPS},
		{"https://localhost", nil, guard.RuleHTTPS},
		{"https://10.0.0.5:11434", nil, guard.RuleHTTPS},
		{"https://evil.example", []string{"10.0.0.0/8"}, guard.RuleHTTPS},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s allowed=%v", c.url, c.allowed)
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			base, err := agent.ParseBaseURL(c.url)
			if err != nil {
				t.Fatal(err)
			}
			policy := guard.Policy{AllowedHosts: c.allowed, Resolver: &fakeDNS{answers: dns, calls: map[string]int{}}}
			resp, err := w.client(policy).Get(base.String() + "/api/version")
			if resp != nil {
				resp.Body.Close()
			}
			var refused *guard.RefusedError
			if c.refused == "" {
				if errors.As(err, &refused) {
					t.Fatalf("refused, want allowed: %v", err)
				}
				if len(w.dialled) == 0 {
					t.Fatalf("allowed but never dialled: %v", err)
				}
				if base.Scheme == "http" && (err != nil || w.hits.Load() != 1) {
					t.Fatalf("allowed but the request did not arrive: %v", err)
				}
				return
			}
			if !errors.As(err, &refused) {
				t.Fatalf("got %v, want a refusal (%s)", err, c.refused)
			}
			if refused.Rule != c.refused {
				t.Errorf("rule %q, want %q", refused.Rule, c.refused)
			}
			msg := refused.Error()
			if !strings.HasPrefix(msg, "refused: ") || !strings.Contains(msg, "Carebook only talks to Ollama on this machine (see allowed_hosts)") {
				t.Errorf("message %q", msg)
			}
			if len(w.dialled) != 0 || w.hits.Load() != 0 {
				t.Errorf("refused, yet dialled %v and the server saw %d requests", w.dialled, w.hits.Load())
			}
		})
	}
}

// The issue's own example message.
func TestRefusalMessage(t *testing.T) {
	u, _ := agent.ParseBaseURL("http://203.0.113.7:11434")
	err := guard.Policy{}.CheckURL(u)
	want := "refused: 203.0.113.7 is not a local address; Carebook only talks to Ollama on this machine (see allowed_hosts)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// A refusal names where the address came from, so that the IT person
// knows what to change; 0.0.0.0, the usual OLLAMA_HOST for exposing
// Ollama, is refused with the setting that works.
func TestRefusalSaysWhereAndWhatToDo(t *testing.T) {
	for _, c := range []struct {
		url, source string
		want        string
	}{
		{"http://203.0.113.7:11434", "$CAREBOOK_OLLAMA_HOST",
			"refused: 203.0.113.7 is not a local address; Carebook only talks to Ollama on this machine (see allowed_hosts); the address came from $CAREBOOK_OLLAMA_HOST"},
		{"0.0.0.0:11434", "$OLLAMA_HOST",
			"refused: 0.0.0.0 is the unspecified address (it means any address, not this machine); Carebook only talks to Ollama on this machine (see allowed_hosts); the address came from $OLLAMA_HOST; 0.0.0.0 tells Ollama where to listen, not Carebook where to connect: set CAREBOOK_OLLAMA_HOST=http://127.0.0.1:11434"},
		{"http://0.0.0.0:8080", "ollama_host in /etc/carebook/config.toml",
			"the address came from ollama_host in /etc/carebook/config.toml; 0.0.0.0 tells Ollama where to listen, not Carebook where to connect: set CAREBOOK_OLLAMA_HOST=http://127.0.0.1:8080"},
	} {
		u, err := agent.ParseBaseURL(c.url)
		if err != nil {
			t.Fatal(err)
		}
		err = guard.Policy{Source: c.source}.CheckURL(u)
		if err == nil || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("%s from %s:\n got %v\nwant …%s", c.url, c.source, err, c.want)
		}
	}
	// Refused at dial time, after DNS, the source is there too.
	w := newWorld(t)
	policy := guard.Policy{Source: "--ollama-host", Resolver: &fakeDNS{answers: map[string][][]string{"evil.example": {{"93.184.216.34"}}}, calls: map[string]int{}}}
	_, err := w.client(policy).Get("http://evil.example:11434/api/version")
	var refused *guard.RefusedError
	if !errors.As(err, &refused) || refused.Source != "--ollama-host" || !strings.Contains(err.Error(), "the address came from --ollama-host") {
		t.Errorf("dial-time refusal: %v", err)
	}
}

// A name that does not resolve is a DNS problem, said as one, not a
// security refusal: nothing is dialled either way.
func TestUnresolvableNameIsADNSError(t *testing.T) {
	w := newWorld(t)
	policy := guard.Policy{AllowedHosts: []string{"gpu.lan"}, Source: "$CAREBOOK_OLLAMA_HOST",
		Resolver: &fakeDNS{answers: map[string][][]string{}, calls: map[string]int{}}}
	_, err := w.client(policy).Get("http://gpu.lan:11434/api/version")
	var unresolved *guard.ResolveError
	var refused *guard.RefusedError
	if !errors.As(err, &unresolved) || errors.As(err, &refused) {
		t.Fatalf("got %v, want a *guard.ResolveError and no refusal", err)
	}
	want := "cannot resolve gpu.lan (DNS: no such host); the Ollama address came from $CAREBOOK_OLLAMA_HOST; check the name and the practice's DNS, or use the machine's IP address"
	if unresolved.Error() != want {
		t.Errorf("message\n got %s\nwant %s", unresolved.Error(), want)
	}
	if len(w.dialled) != 0 || w.hits.Load() != 0 {
		t.Errorf("dialled %v", w.dialled)
	}
}

// A name that is loopback when first used and public on the next lookup
// is refused on the next connection, before it is made.
func TestDNSRebinding(t *testing.T) {
	w := newWorld(t)
	dns := &fakeDNS{answers: map[string][][]string{"rebind.example": {{"127.0.0.1"}, {"203.0.113.7"}}}, calls: map[string]int{}}
	policy := guard.Policy{Resolver: dns}
	hc := w.client(policy)
	get := func() error {
		resp, err := hc.Get("http://rebind.example:11434/api/version")
		if err == nil {
			resp.Body.Close()
		}
		// A new connection for the next request, so it is dialled again.
		hc.CloseIdleConnections()
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("first request, to loopback: %v", err)
	}
	err := get()
	var refused *guard.RefusedError
	if !errors.As(err, &refused) || refused.Rule != guard.RulePublic {
		t.Fatalf("second request, after rebinding: %v", err)
	}
	if len(w.dialled) != 1 || w.hits.Load() != 1 {
		t.Errorf("dialled %v, %d requests arrived; want exactly the first", w.dialled, w.hits.Load())
	}
}

// A local server that redirects to a public one is not followed.
func TestRedirectToPublicIsNotFollowed(t *testing.T) {
	w := newWorld(t)
	redirector := httptest.NewServer(http.RedirectHandler("http://203.0.113.7:11434/api/version", http.StatusFound))
	defer redirector.Close()
	var dialled []string
	policy := guard.Policy{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	hc := agent.NewHTTPClient(agent.ClientOptions{Dialer: policy.DialContext, CheckURL: policy.CheckURL})
	_, err := hc.Get(redirector.URL + "/api/version")
	if err == nil || !strings.Contains(err.Error(), "does not follow redirects") {
		t.Fatalf("got %v", err)
	}
	for _, a := range dialled {
		if strings.HasPrefix(a, "203.0.113.7") {
			t.Errorf("dialled the redirect target %s", a)
		}
	}
	if w.hits.Load() != 0 {
		t.Error("unexpected request")
	}
}

// Proxy variables pointing at a local listener receive nothing: requests go
// straight to Ollama, and refused ones nowhere.
func TestProxyVariablesAreIgnored(t *testing.T) {
	var proxyHits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		proxyHits.Add(1)
		io.WriteString(rw, `{"version":"proxy"}`)
	}))
	defer proxy.Close()
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	w := newWorld(t)
	real := guard.Policy{} // the real dialer, not the test hook
	hc := agent.NewHTTPClient(agent.ClientOptions{Dialer: real.DialContext, CheckURL: real.CheckURL})
	resp, err := hc.Get(w.server.URL + "/api/version")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "proxy") || w.hits.Load() != 1 {
		t.Errorf("the request went through the proxy: %s", body)
	}
	if _, err := hc.Get("http://203.0.113.7:11434/api/version"); err == nil {
		t.Error("a public address was reached")
	}
	if proxyHits.Load() != 0 {
		t.Errorf("the proxy received %d requests", proxyHits.Load())
	}
	if got := guard.IgnoredProxyVariables(func(k string) string { return map[string]string{"HTTPS_PROXY": "x"}[k] }); len(got) != 1 {
		t.Errorf("IgnoredProxyVariables = %v", got)
	}
}

// Without the test hook, the socket's Control function checks the address
// connect(2) is about to use: the real dialer still reaches loopback.
func TestRealDialerReachesLoopback(t *testing.T) {
	w := newWorld(t)
	p := guard.Policy{}
	conn, err := p.DialContext(context.Background(), "tcp", w.server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := p.DialContext(context.Background(), "tcp", "203.0.113.7:11434"); err == nil {
		t.Fatal("dialled a public address")
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]guard.Rule{
		"127.0.0.1": "", "::1": "", "10.1.2.3": guard.RulePrivate, "fd12::1": guard.RulePrivate,
		"169.254.1.1": guard.RuleLinkLocal, "::": guard.RuleUnspecified, "1.1.1.1": guard.RulePublic,
	} {
		got, ok := guard.Classify(netip.MustParseAddr(in))
		if got != want || ok != (want == "") {
			t.Errorf("%s: %q %v, want %q", in, got, ok, want)
		}
	}
}
