// Package guard keeps patient data on the machine. Every connection Carebook
// opens goes to Ollama through Policy.DialContext, which resolves the name
// itself and checks every address it is about to dial: loopback is always
// allowed, a private-network address only when the practice listed it in
// allowed_hosts, and nothing else, whatever the configuration, the
// environment or a DNS answer says.
//
// The check runs at dial time, on the address actually dialled, so a name
// that resolved to loopback when it was configured and resolves to a public
// address now is still refused; and it runs before the socket connects, so a
// refused request sends no byte.
package guard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Rule names why an address was refused.
type Rule string

const (
	RulePublic      Rule = "not a local address"
	RulePrivate     Rule = "a private-network address not listed in allowed_hosts"
	RuleLinkLocal   Rule = "a link-local address (cloud metadata services live there)"
	RuleUnspecified Rule = "the unspecified address (it means any address, not this machine)"
	RuleOddSpelling Rule = "an unusual spelling of an IP address"
	RuleCloud       Rule = "Ollama's cloud"
	RuleHTTPS       Rule = "https to a host not listed in allowed_hosts (the local Ollama speaks http)"
	RuleMixed       Rule = "a name that also resolves to addresses that are not local"
	RuleNoAddress   Rule = "a name that resolves to no address"
	RuleScheme      Rule = "not an http address"
	RulePort        Rule = "not a port number (1 to 65535)"
)

// RefusedError says the guard refused an endpoint before sending anything.
type RefusedError struct {
	Endpoint string // as configured, e.g. http://203.0.113.7:11434
	Address  string // the address refused: an IP, or the host name
	Rule     Rule
	// Source is where the endpoint came from ("$OLLAMA_HOST", "--ollama-host",
	// "ollama_host in /etc/carebook/config.toml"), so that the person who
	// reads the refusal knows what to change; "" when unknown.
	Source string
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("refused: %s is %s; Carebook only talks to Ollama on this machine (see allowed_hosts)", e.Address, e.Rule)
	if e.Source != "" {
		msg += "; the address came from " + e.Source
	}
	if e.Rule == RuleUnspecified {
		// OLLAMA_HOST=0.0.0.0:11434 is the usual way to make Ollama listen
		// on every address; Carebook reads the same variable to connect.
		msg += fmt.Sprintf("; 0.0.0.0 tells Ollama where to listen, not Carebook where to connect: set CAREBOOK_OLLAMA_HOST=http://127.0.0.1:%s", portOf(e.Endpoint))
	}
	return msg
}

// portOf is the port of an endpoint URL, else Ollama's default.
func portOf(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Port() != "" {
		return u.Port()
	}
	return "11434"
}

// ResolveError says a host name could not be looked up. It is not a
// refusal: nothing can be sent to a name without an address. It names the
// DNS, where the fix is, rather than the guard.
type ResolveError struct {
	Host string
	// Source is where the endpoint came from, as in RefusedError.
	Source string
	Err    error
}

func (e *ResolveError) Error() string {
	why := "no such host"
	var dnsErr *net.DNSError
	if errors.As(e.Err, &dnsErr) && !dnsErr.IsNotFound {
		why = dnsErr.Err
	}
	from := ""
	if e.Source != "" {
		from = "the Ollama address came from " + e.Source + "; "
	}
	return fmt.Sprintf("cannot resolve %s (DNS: %s); %scheck the name and the practice's DNS, or use the machine's IP address", e.Host, why, from)
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Resolver looks names up. net.DefaultResolver is one; tests use a fake.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is what the guard allows.
type Policy struct {
	// AllowedHosts are the practice's own private hosts: names, IPs or
	// CIDR prefixes, from the configuration file. A public address listed
	// here is still refused.
	AllowedHosts []string
	// Resolver looks up names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial connects to an address that passed the check; nil means a
	// net.Dialer with ConnectTimeout. Tests record calls through it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ConnectTimeout bounds one dial; zero means 5 seconds.
	ConnectTimeout time.Duration
	// Source is where the endpoint came from; every refusal and lookup
	// failure carries it.
	Source string
}

var (
	privatePrefixes = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fc00::/7"),
	}
	cloudDomains = []string{"ollama.com", "ollama.ai"}
)

// Classify says what kind of address ip is, for Check and for doctor.
func Classify(ip netip.Addr) (Rule, bool) {
	ip = ip.Unmap() // ::ffff:8.8.8.8 is 8.8.8.8
	switch {
	case !ip.IsValid():
		return RuleNoAddress, false
	case ip.IsLoopback():
		return "", true
	case ip.IsUnspecified():
		return RuleUnspecified, false
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return RuleLinkLocal, false
	}
	for _, p := range privatePrefixes {
		if p.Contains(ip) {
			return RulePrivate, false
		}
	}
	return RulePublic, false
}

// allowedPrivate reports whether a private address is listed, by itself, by
// a prefix holding it, or by the name it was reached through.
func (p Policy) allowedPrivate(host string, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, entry := range p.AllowedHosts {
		entry = normalHost(strings.TrimSpace(entry))
		if pfx, err := netip.ParsePrefix(entry); err == nil && pfx.Contains(ip) {
			return true
		}
		if a, err := netip.ParseAddr(entry); err == nil && a.Unmap() == ip {
			return true
		}
		if host != "" && entry == host {
			return true
		}
	}
	return false
}

// listed reports whether host itself appears in allowed_hosts.
func (p Policy) listed(host string) bool {
	for _, entry := range p.AllowedHosts {
		if normalHost(strings.TrimSpace(entry)) == host {
			return true
		}
	}
	return false
}

// refuseName refuses a host by its name alone, before any lookup: Ollama's
// cloud, and IP addresses not written the one canonical way.
func refuseName(host string) *RefusedError {
	for _, d := range cloudDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return &RefusedError{Address: host, Rule: RuleCloud}
		}
	}
	if oddSpelling(host) {
		return &RefusedError{Address: host, Rule: RuleOddSpelling}
	}
	return nil
}

// CheckAddr decides one address reached through host ("" for a literal).
func (p Policy) CheckAddr(host string, ip netip.Addr) *RefusedError {
	rule, ok := Classify(ip)
	if ok {
		return nil
	}
	if rule == RulePrivate && p.allowedPrivate(host, ip) {
		return nil
	}
	return &RefusedError{Address: ip.String(), Rule: rule}
}

// normalHost lowercases a host and drops a trailing dot and IPv6 brackets.
func normalHost(h string) string {
	return strings.TrimRight(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// oddSpelling reports hosts that some resolvers read as IP addresses but
// that are not written the one canonical way: 2130706433, 0x7f.1, 127.1,
// 0177.0.0.1. Each resolver reads them differently, so none is trusted.
func oddSpelling(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	if host == "" {
		return false
	}
	for _, r := range host {
		if !(r >= '0' && r <= '9' || r == '.' || r == 'x' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	// Only digits, dots and hex letters: a real DNS name of that shape
	// (say "cafe.be") has a top-level label with a non-hex letter or is not
	// all hex digits; anything starting with a digit or 0x is a number.
	first := strings.Split(host, ".")[0]
	last := host[strings.LastIndex(host, ".")+1:]
	startsNumeric := first != "" && first[0] >= '0' && first[0] <= '9'
	lastNumeric := last != "" && strings.Trim(last, "0123456789x") == "" || strings.HasPrefix(last, "0x")
	return startsNumeric || lastNumeric
}

// CheckURL is the check before any connection: the scheme, Ollama's cloud,
// https, odd spellings and literal addresses. Names are checked again, with
// the addresses they resolve to, when dialled.
func (p Policy) CheckURL(u *url.URL) error {
	endpoint := u.Redacted()
	refuse := func(addr string, rule Rule) error {
		return &RefusedError{Endpoint: endpoint, Address: addr, Rule: rule, Source: p.Source}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return refuse(u.String(), RuleScheme)
	}
	if port := u.Port(); port != "" && !validPort(port) {
		return refuse(port, RulePort)
	}
	host := normalHost(u.Hostname())
	if r := refuseName(host); r != nil {
		return refuse(r.Address, r.Rule)
	}
	if u.Scheme == "https" && !p.listed(host) {
		if ip, err := netip.ParseAddr(host); err != nil || !p.allowedPrivate("", ip) {
			return refuse(host, RuleHTTPS)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if r := p.CheckAddr("", ip); r != nil {
			return refuse(r.Address, r.Rule)
		}
	}
	return nil
}

// validPort reports whether port is a TCP port number, as digits.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port == strconv.Itoa(n)
}

// DialContext resolves addr's host, refuses it unless every address it
// resolves to is allowed, and dials the first that answers. It is the
// http.Transport's DialContext.
func (p Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	hostPort, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	// Checked here too, not left to the dialer: what is dialled is always
	// an address and a port the guard has read.
	if !validPort(port) {
		return nil, &RefusedError{Endpoint: addr, Address: port, Rule: RulePort, Source: p.Source}
	}
	host := normalHost(hostPort)
	if r := refuseName(host); r != nil {
		r.Source = p.Source
		return nil, r
	}
	ips, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	// Every answer must be allowed, not just one: a mixed answer is how a
	// rebinding attack would slip a public address in.
	for _, ip := range ips {
		if r := p.CheckAddr(host, ip); r != nil {
			if len(ips) > 1 {
				r.Rule = RuleMixed
				r.Address = fmt.Sprintf("%s (resolves to %s)", host, ip)
			}
			r.Source = p.Source
			return nil, r
		}
	}
	dial := p.Dial
	if dial == nil {
		timeout := p.ConnectTimeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		d := &net.Dialer{Timeout: timeout, Control: p.control(host)}
		dial = d.DialContext
	}
	var firstErr error
	for _, ip := range ips {
		conn, err := dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// control checks the address once more in the socket's own hands, just
// before connect(2): the last point where a byte can still be withheld.
func (p Policy) control(host string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("guard: cannot read the address %q", address)
		}
		if r := p.CheckAddr(host, ap.Addr()); r != nil {
			r.Source = p.Source
			return r
		}
		return nil
	}
}

func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	// localhost is loopback by definition (RFC 6761); no lookup, so no
	// hosts file or DNS server can point it elsewhere.
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("look up %s: %w", host, err)
		}
		// A name that does not resolve is a DNS problem, not a security
		// one: say so, so that nobody hunts for a policy to relax.
		return nil, &ResolveError{Host: host, Source: p.Source, Err: err}
	}
	if len(ips) == 0 {
		return nil, &ResolveError{Host: host, Source: p.Source, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	return slices.Compact(ips), nil
}

// IgnoredProxyVariables lists proxy variables set in the environment, which
// the guarded client ignores, for doctor.
func IgnoredProxyVariables(getenv func(string) string) []string {
	var out []string
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		if getenv(k) != "" {
			out = append(out, k)
		}
	}
	return out
}
