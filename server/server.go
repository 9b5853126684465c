// Package server is carebook serve's HTTP layer over package service: one
// owner process for the practice's database, which staff reach over a local
// Unix socket. The kernel says which OS account connected (peer
// credentials); a staff name and PIN tell apart the people who share one.
// Every request runs as its session's caller, through the same service
// code that direct mode runs, so what is decided, resolved, executed and
// audited does not depend on the mode.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/internal/wire"
	"github.com/carebook/carebook/service"
)

// Config is what a Server is built from.
type Config struct {
	Service *service.Service
	// IdleLogoff locks a session that has made no request for this long:
	// it must be unlocked (with the PIN, on a shared account) before it
	// does anything else. Zero never locks.
	IdleLogoff time.Duration
	// Host is this machine's name, for the audit log.
	Host string
	// Log receives one line per refused connection or failed request:
	// operation names and error kinds, never patient data.
	Log io.Writer
	// StallTimeout cuts off a download (a backup, an export) whose client
	// has read nothing for this long: a client stopped with Ctrl-Z or
	// SIGSTOP would otherwise keep what the download holds (a copy of the
	// database, a read of it) for as long as it stays stopped. Zero is
	// DefaultStallTimeout.
	StallTimeout time.Duration
}

// DefaultStallTimeout is long enough for any disk a client writes to to
// catch up, and short enough that a stopped client lets go the same
// minute.
const DefaultStallTimeout = time.Minute

// Server serves the practice's database over a socket.
type Server struct {
	cfg      Config
	sessions sessions
	http     *http.Server
}

// New builds a server.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	s := &Server{cfg: cfg, sessions: sessions{m: map[string]*session{}}}
	mux := http.NewServeMux()
	s.routes(mux)
	s.http = &http.Server{
		Handler:           s.versioned(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			p, err := peerOf(c)
			return context.WithValue(ctx, peerKey{}, peerResult{p, err})
		},
	}
	return s
}

type peerKey struct{}

type peerResult struct {
	peer Peer
	err  error
}

// Serve answers on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking requests and waits for those in flight to finish,
// so that nothing is left half-written.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// Listen creates the socket at path, for the owner and the group of this
// process (or group, when named) and nobody else. A socket left by a server
// that is gone is replaced; one that answers is not.
func Listen(path, group string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another carebook serve already answers at %s; stop it first (or choose another --socket)", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; remove it or choose another --socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("--group %s: %w", group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	// A service's umask (077) makes the folders it creates its owner's
	// alone, and staff could not reach the socket inside; on macOS they
	// also take their parent's group. Folders made here are the socket's
	// way in: the staff group may pass through them.
	var made []string
	for dir := filepath.Dir(path); missing(dir); dir = filepath.Dir(dir) {
		made = append(made, dir)
	}
	if gid < 0 {
		gid = os.Getgid()
	}
	for i := len(made) - 1; i >= 0; i-- {
		dir := made[i]
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("socket folder: %w", err)
		}
		if err := os.Chown(dir, -1, gid); err != nil {
			return nil, fmt.Errorf("give the socket folder %s to the staff group: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o750); err != nil {
			return nil, fmt.Errorf("socket folder %s: %w", dir, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if group != "" {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("give the socket to group %s: %w", group, err)
		}
	}
	// The process's umask made it 0700 (its owner only); the staff group
	// may connect too. The server's own check is the second line.
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket mode: %w", err)
	}
	return ln, nil
}

// missing reports whether nothing is at path (and not that it could not be
// looked at).
func missing(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// versioned refuses a client of another protocol version with a sentence.
func (s *Server) versioned(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.Protocol, strconv.Itoa(backend.ProtocolVersion))
		if v := r.Header.Get(wire.Protocol); v != strconv.Itoa(backend.ProtocolVersion) {
			n, _ := strconv.Atoi(v)
			s.fail(w, http.StatusBadRequest, &backend.VersionError{Client: n, Server: backend.ProtocolVersion})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// session is one login: a caller, bound to the account that logged in.
type session struct {
	token   string
	caller  service.Caller
	uid     int
	mu      sync.Mutex
	lastUse time.Time
	locked  bool
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func (ss *sessions) add(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// Sessions nobody has used for a day are gone.
	for k, v := range ss.m {
		v.mu.Lock()
		old := time.Since(v.lastUse) > 24*time.Hour
		v.mu.Unlock()
		if old {
			delete(ss.m, k)
		}
	}
	ss.m[s.token] = s
}

func (ss *sessions) get(token string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[token]
}

func (ss *sessions) remove(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

func newToken() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// peer is who connected, or an error already sent.
func (s *Server) peer(w http.ResponseWriter, r *http.Request) (Peer, bool) {
	pr, _ := r.Context().Value(peerKey{}).(peerResult)
	if pr.err != nil || pr.peer.User == "" {
		s.logf("refused a connection: %v", pr.err)
		s.fail(w, http.StatusUnauthorized, &backend.AuthError{Msg: "refused: the server cannot tell which account connected, so it answers nothing"})
		return Peer{}, false
	}
	return pr.peer, true
}

// login authenticates the peer (and the staff member and PIN, on a shared
// account) and opens a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	p, ok := s.peer(w, r)
	if !ok {
		return
	}
	var req wire.LoginRequest
	if !s.decode(w, r.Body, &req) {
		return
	}
	token := newToken()
	c, err := s.cfg.Service.Authenticate(r.Context(), service.Identity{OSUser: p.User, Host: s.cfg.Host, Staff: req.Staff, PIN: req.PIN}, token)
	if err != nil {
		s.logf("refused a login from %s: %s", p.User, kindOf(err))
		s.fail(w, http.StatusUnauthorized, err)
		return
	}
	sess := &session{token: token, caller: c, uid: p.UID, lastUse: time.Now()}
	s.sessions.add(sess)
	info, err := s.cfg.Service.For(c).Info(r.Context())
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err)
		return
	}
	s.final(w, wire.LoginReply{Token: token, Info: info}, nil)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r, leaving)
	if !ok {
		return
	}
	s.sessions.remove(sess.token)
	s.cfg.Service.EndSession(sess.token)
	s.final(w, struct{}{}, nil)
}

// use is what a request does with its session, as far as the lock goes.
type use int

const (
	// working is an operation: refused while the session is locked.
	working use = iota
	// locking is the REPL locking itself: it audits the lock.
	locking
	// unlocking is unlock, which a locked session may do.
	unlocking
	// leaving is logout: it ends the session whatever became of it, and
	// neither ends it first nor locks it.
	leaving
)

// session finds the request's session: the token must be one this server
// gave, to this same account, and its staff member must be as they were
// at login (Service.Recheck), or the session ends. A session idle past
// IdleLogoff is locked, and the lock audited, and does nothing until
// unlocked.
func (s *Server) session(w http.ResponseWriter, r *http.Request, u use) (*session, bool) {
	p, ok := s.peer(w, r)
	if !ok {
		return nil, false
	}
	sess := s.sessions.get(r.Header.Get(wire.Session))
	if sess == nil || sess.uid != p.UID {
		s.fail(w, http.StatusUnauthorized, &backend.AuthError{Msg: "refused: this session is not known to the server (it restarted, or the session ended); run the command again"})
		return nil, false
	}
	if u == leaving {
		return sess, true
	}
	if err := s.cfg.Service.Recheck(r.Context(), sess.caller); err != nil {
		var auth *backend.AuthError
		if !errors.As(err, &auth) {
			s.fail(w, http.StatusInternalServerError, err)
			return nil, false
		}
		s.sessions.remove(sess.token)
		s.cfg.Service.EndSession(sess.token)
		s.logf("ended a session of %s: its staff record changed", who(sess))
		s.fail(w, http.StatusUnauthorized, err)
		return nil, false
	}
	sess.mu.Lock()
	// The REPL's own lock request is not the server noticing: it audits
	// the lock itself, with what it did to the screen.
	idled := u != locking && !sess.locked && s.cfg.IdleLogoff > 0 && time.Since(sess.lastUse) > s.cfg.IdleLogoff
	lastUse := sess.lastUse
	if idled {
		sess.locked = true
	}
	refused := sess.locked && u == working
	if !refused {
		sess.lastUse = time.Now()
	}
	sess.mu.Unlock()
	if idled {
		if err := s.cfg.Service.IdleLocked(context.WithoutCancel(r.Context()), sess.caller, lastUse, s.cfg.IdleLogoff); err != nil {
			s.logf("the idle lock of a session of %s is not audited: %s", who(sess), kindOf(err))
		}
	}
	if refused {
		s.fail(w, http.StatusUnauthorized, &backend.AuthError{Msg: "refused: this session locked itself after sitting idle; unlock it (the REPL asks), or run the command again", NeedPIN: sess.caller.NeedsPIN, IdleLocked: true})
		return nil, false
	}
	return sess, true
}

// who names a session's staff member and OS account for the server's log.
func who(sess *session) string {
	if sess.caller.Staff == "" {
		return sess.caller.OSUser
	}
	return sess.caller.Staff + " (" + sess.caller.OSUser + ")"
}

// decode reads a JSON request body.
func (s *Server) decode(w http.ResponseWriter, body io.Reader, v any) bool {
	dec := json.NewDecoder(io.LimitReader(body, maxRequest))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		s.fail(w, http.StatusBadRequest, fmt.Errorf("the request is not readable: %w", err))
		return false
	}
	return true
}

// maxRequest bounds a JSON request (a migration's files travel inside).
const maxRequest = 512 << 20

// stream is a reply being written: frames, one per line, flushed as they
// go.
type stream struct {
	w   http.ResponseWriter
	enc *json.Encoder
	mu  sync.Mutex
}

func (s *Server) newStream(w http.ResponseWriter) *stream {
	w.Header().Set("Content-Type", "application/x-ndjson")
	return &stream{w: w, enc: json.NewEncoder(w)}
}

func (st *stream) send(f wire.Frame) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.enc.Encode(f)
	if fl, ok := st.w.(http.Flusher); ok {
		fl.Flush()
	}
}

func (st *stream) progress(p backend.Progress) { st.send(wire.Frame{Progress: &p}) }

// final sends the last frame: the result and, or, the error.
func (s *Server) final(w http.ResponseWriter, result any, err error) {
	s.newStream(w).final(s, result, err)
}

func (st *stream) final(s *Server, result any, err error) {
	f := wire.Frame{Done: true}
	if result != nil && !isNil(result) {
		b, merr := json.Marshal(result)
		if merr != nil {
			err = errors.Join(err, merr)
		} else {
			f.Result = b
		}
	}
	if err != nil {
		f.Error = backend.ToWire(err, service.Classify)
	}
	st.send(f)
}

func isNil(v any) bool {
	b, _ := json.Marshal(v)
	return bytes.Equal(b, []byte("null"))
}

// fail answers a request that never reached an operation.
func (s *Server) fail(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(wire.Frame{Done: true, Error: backend.ToWire(err, service.Classify)})
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, time.Now().Format(time.RFC3339)+" "+format+"\n", args...)
}

// kindOf names an error's kind for the server's own log: never its text,
// which can carry what a person typed.
func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	return backend.ToWire(err, service.Classify).Kind
}
