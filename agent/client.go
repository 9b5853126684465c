package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/carebook/carebook/guard"
)

// DefaultBaseURL is where a local Ollama listens.
const DefaultBaseURL = "http://127.0.0.1:11434"

// Timeouts of the HTTP client, when ClientOptions leaves them zero.
const (
	DefaultConnectTimeout = 5 * time.Second
	// DefaultCallTimeout bounds one whole model call. A small model on a CPU
	// answers in seconds once loaded; loading it can take a minute.
	DefaultCallTimeout = 120 * time.Second
)

// ClientOptions tune the HTTP client that talks to Ollama. The zero value
// is ready to use.
type ClientOptions struct {
	// ConnectTimeout bounds opening the connection. Zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Timeout bounds one whole call, the model's answer included. Zero
	// means DefaultCallTimeout.
	Timeout time.Duration
	// Dialer opens every connection. Nil means a plain dialer with
	// ConnectTimeout. This is the guard's seam: it supplies a dialer that
	// checks the address actually dialled, after DNS.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// CheckURL vets every request's URL before anything is dialled: the
	// guard refuses https to unlisted hosts and Ollama's cloud there.
	CheckURL func(*url.URL) error
}

// checkedTransport runs CheckURL, when set, before each round trip, and
// refuses answers that cannot be Ollama's after it.
type checkedTransport struct {
	check func(*url.URL) error
	next  http.RoundTripper
}

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.check != nil {
		if err := t.check(req.URL); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/api/") {
		return resp, err
	}
	if !fromOllama(resp) {
		// The page is dropped unread: it is another program's, and it
		// would otherwise end up, HTML and all, in the error message.
		resp.Body.Close()
		return nil, &NotOllamaError{Endpoint: baseOf(req.URL.String()), StatusCode: resp.StatusCode}
	}
	return resp, nil
}

// notFoundPage is what Ollama's router (gin) and net/http answer for a
// path they do not serve: an Ollama too old for an endpoint says this.
const notFoundPage = "404 page not found"

// fromOllama reports whether an answer to an /api/ path can be Ollama's.
// Ollama answers every API call with JSON (NDJSON when streaming), its
// errors included. An HTML page never comes from it; nor does an error in
// another format, except its router's plain 404 and an empty body (a
// handler that panicked). A redirect is left to the client, which refuses
// it with its own sentence, and a plain-text success to the API client,
// which cannot decode it.
func fromOllama(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" || mt == "application/x-ndjson":
		return true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return true // the client refuses redirects, and says so
	case mt == "text/html" || mt == "application/xhtml+xml":
		return false
	case resp.StatusCode < http.StatusBadRequest:
		return true
	}
	const peek = len(notFoundPage) + 2
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(peek)))
	if err != nil {
		return false
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	text := strings.TrimSpace(string(body))
	return text == "" || resp.StatusCode == http.StatusNotFound && text == notFoundPage
}

func (t checkedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// NewHTTPClient builds the HTTP client for Ollama: proxy variables are
// ignored (the request must not go through another host) and redirects are
// refused (the endpoint is checked once, where it is configured).
func NewHTTPClient(o ClientOptions) *http.Client {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultCallTimeout
	}
	dial := o.Dialer
	if dial == nil {
		dial = (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
		TLSHandshakeTimeout: o.ConnectTimeout,
		// The model check before each request makes three calls at once.
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: checkedTransport{check: o.CheckURL, next: transport},
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return fmt.Errorf("Ollama answered with a redirect to %s; Carebook does not follow redirects", req.URL.Redacted())
		},
	}
}

// NewClient builds the Ollama API client over hc, which the caller builds
// with the guard (cmdutil.Factory.NewAgent is the one place that does).
func NewClient(base *url.URL, hc *http.Client) *api.Client {
	return api.NewClient(base, hc)
}

// UnreachableError says Ollama could not be reached.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("Ollama is not running at %s; start it with `ollama serve`", e.URL)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NotOllamaError says something answered on the Ollama address, but not
// as Ollama does: another program holds the port.
type NotOllamaError struct {
	Endpoint   string
	StatusCode int
	// Source is where the endpoint came from, or "".
	Source string
}

func (e *NotOllamaError) Error() string {
	from := ""
	if e.Source != "" {
		from = " (from " + e.Source + ")"
	}
	return fmt.Sprintf("the server at %s%s answered but is not Ollama (HTTP %d); stop the program that holds that port and start `ollama serve`, or point Carebook at Ollama with --ollama-host", e.Endpoint, from, e.StatusCode)
}

// ModelMissingError says the model has not been pulled.
type ModelMissingError struct{ Model string }

func (e *ModelMissingError) Error() string {
	return fmt.Sprintf("model %s is not available in your Ollama; run: ollama pull %s", e.Model, e.Model)
}

// callError turns a failed HTTP call into a sentence with the fix. A
// cancelled or expired ctx wins, so that Ctrl-C reads as such.
func callError(ctx context.Context, model string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("the model call was stopped: %w", ctxErr)
	}
	var refused *guard.RefusedError
	if errors.As(err, &refused) {
		var ue *url.Error
		if refused.Endpoint == "" && errors.As(err, &ue) {
			refused.Endpoint = baseOf(ue.URL)
		}
		return refused
	}
	var unresolved *guard.ResolveError
	if errors.As(err, &unresolved) {
		return unresolved
	}
	var notOllama *NotOllamaError
	if errors.As(err, &notOllama) {
		return notOllama
	}
	var se api.StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return &ModelMissingError{Model: model}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return &UnreachableError{URL: baseOf(ue.URL), Err: err}
		}
		if ue.Timeout() {
			return fmt.Errorf("Ollama at %s did not answer in time: %w", baseOf(ue.URL), err)
		}
	}
	return fmt.Errorf("the model call failed: %w", err)
}

// baseOf cuts the API path off a request URL, so that messages name the
// endpoint as it was configured.
func baseOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if i := strings.LastIndex(u.Path, "/api/"); i >= 0 {
		u.Path = u.Path[:i]
	}
	u.RawPath = ""
	return u.String()
}

// ParseBaseURL reads an Ollama address the way Ollama's own OLLAMA_HOST
// does: "127.0.0.1", "localhost:11434", "http://host:port" or a URL with a
// path prefix. A missing scheme means http and a missing port 11434.
func ParseBaseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("the Ollama address is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("the Ollama address %q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the Ollama address %q must use http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("the Ollama address %q names no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("the Ollama address %q must not carry credentials, a query or a fragment", raw)
	}
	if u.Port() == "" {
		port := "11434"
		if u.Scheme == "https" && strings.Contains(raw, "://") {
			port = "443"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}
