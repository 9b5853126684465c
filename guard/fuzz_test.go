package guard_test

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/carebook/carebook/guard"
)

// fuzzAllowed is the practice's allowed_hosts in FuzzCheckURL: a name, an
// address and a prefix.
var fuzzAllowed = []string{"ollama.lan", "10.9.8.7", "192.168.50.0/24"}

// fuzzDNS answers every name. A few names have fixed, hostile answers; any
// other gets addresses derived from its bytes, so that the fuzzer reaches
// loopback, listed and unlisted private, link-local, public and mixed
// answers by changing the name.
type fuzzDNS struct{}

func (fuzzDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	fixed := map[string][]string{
		"ollama.lan":     {"10.1.2.3"},
		"rebind.example": {"127.0.0.1", "203.0.113.7"},
		"nas.lan":        {"192.168.1.20"},
		"metadata.test":  {"169.254.169.254"},
		"mapped.test":    {"::ffff:8.8.8.8"},
		"v6.test":        {"::1", "fd00::1"},
	}
	if ips, ok := fixed[host]; ok {
		var out []netip.Addr
		for _, s := range ips {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
	h := fnv.New32a()
	h.Write([]byte(host))
	n := h.Sum32()
	pick := []netip.Addr{
		netip.AddrFrom4([4]byte{127, 0, 0, byte(n >> 8)}),
		netip.AddrFrom4([4]byte{10, 9, 8, 7}),
		netip.AddrFrom4([4]byte{192, 168, 50, byte(n >> 8)}),
		netip.AddrFrom4([4]byte{192, 168, 51, byte(n >> 8)}),
		netip.AddrFrom4([4]byte{169, 254, byte(n >> 16), byte(n >> 8)}),
		netip.AddrFrom4([4]byte{8, 8, byte(n >> 16), byte(n >> 8)}),
		netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(n >> 8)}),
		netip.IPv6Unspecified(),
	}
	switch n % 11 {
	case 9:
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	case 10:
		// A mixed answer: one allowed address, one chosen by the name.
		return []netip.Addr{pick[0], pick[(n>>4)%uint32(len(pick))]}, nil
	}
	return []netip.Addr{pick[n%uint32(len(pick))]}, nil
}

// allowedDial is the property: an address the guard lets Carebook dial is
// loopback, or a private address the practice listed itself or reached
// through a name it listed.
func allowedDial(host string, ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return true
	}
	if !ip.IsPrivate() {
		return false
	}
	host = strings.TrimRight(strings.ToLower(strings.Trim(host, "[]")), ".")
	return host == "ollama.lan" || ip == netip.MustParseAddr("10.9.8.7") || netip.MustParsePrefix("192.168.50.0/24").Contains(ip)
}

// FuzzCheckURL gives the guard any endpoint. Nothing panics; a refusal is a
// RefusedError; an endpoint it accepts is http or https, and every address
// a request to it would then dial, after the guard's own lookup, is
// loopback or a private host the practice listed.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:11434", "http://localhost:11434", "http://[::1]:11434", "http://ollama.lan:11434",
		"https://ollama.lan", "http://10.9.8.7:11434", "http://192.168.50.4", "http://192.168.51.4", "http://nas.lan",
		"http://rebind.example", "http://metadata.test", "http://169.254.169.254/latest/meta-data", "http://mapped.test",
		"http://v6.test", "http://[::ffff:127.0.0.1]:11434", "http://[::ffff:8.8.8.8]", "http://0.0.0.0:11434",
		"http://[::]:11434", "http://2130706433", "http://0x7f.1", "http://127.1", "http://0177.0.0.1", "http://ollama.com",
		"http://api.OLLAMA.com.", "https://127.0.0.1", "ftp://127.0.0.1", "file:///etc/passwd", "http://user:pw@127.0.0.1",
		"http://127.0.0.1.nip.io", "http://localhost.", "http://foo.localhost", "http://[fe80::1%25eth0]:11434",
		"http://[::1%25lo]:11434", "http://:11434", "http://LOCALHOST", "http://ollama.lan.", "http://203.0.113.7",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		var dialled []string
		p := guard.Policy{
			AllowedHosts: fuzzAllowed,
			Resolver:     fuzzDNS{},
			Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
				dialled = append(dialled, addr)
				return nil, errors.New("not dialled in a test")
			},
		}
		if err := p.CheckURL(u); err != nil {
			var refused *guard.RefusedError
			if !errors.As(err, &refused) {
				t.Errorf("CheckURL(%q) = %T %v, want a RefusedError", raw, err, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Errorf("CheckURL(%q) accepted the scheme %q", raw, u.Scheme)
		}
		// What net/http's transport dials: the host, with the scheme's port
		// when none is given.
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		_, err = p.DialContext(context.Background(), "tcp", net.JoinHostPort(u.Hostname(), port))
		var refused *guard.RefusedError
		if errors.As(err, &refused) && len(dialled) > 0 {
			t.Errorf("DialContext for %q dialled %v and then refused", raw, dialled)
		}
		for _, addr := range dialled {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				t.Errorf("DialContext for %q dialled %q, not an IP address", raw, addr)
				continue
			}
			if !allowedDial(u.Hostname(), ap.Addr()) {
				t.Errorf("DialContext for %q dialled %s, which is not loopback or a listed private host", raw, ap.Addr())
			}
		}
	})
}
