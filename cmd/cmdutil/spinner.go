package cmdutil

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Spinner shows that something is under way, as `ollama run` does while a
// model thinks: a turning mark, what is being done, the time so far and
// how to stop it, on one self-overwriting line of stderr. Only people see
// it: StartSpinner returns nil, which draws nothing, unless stderr is a
// terminal.
type Spinner struct {
	w     io.Writer
	width int
	start time.Time

	mu     sync.Mutex
	prefix string
	stage  string
	drawn  bool
	held   bool

	stop chan struct{}
	done chan struct{}
}

// spinnerFrames are Ollama's.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinnerDelay keeps a spinner off the screen for what is over at once.
const spinnerDelay = 150 * time.Millisecond

// StartSpinner starts a spinner on stderr, when it is a terminal, saying
// stage ("asking qwen3:4b-instruct") after prefix ("line 3 of 10: ").
func (s *IOStreams) StartSpinner(prefix, stage string) *Spinner {
	if !s.IsStderrTTY() {
		return nil
	}
	sp := &Spinner{w: s.TerminalErr(), width: s.TerminalWidth(), start: time.Now(),
		prefix: prefix, stage: stage, stop: make(chan struct{}), done: make(chan struct{})}
	s.spinMu.Lock()
	s.spinner = sp
	s.spinMu.Unlock()
	go sp.run()
	return sp
}

// HoldSpinner takes the spinner under way off the screen until resume is
// called: a question a request stops to ask (the REPL's unlock, when the
// server locked the session) is not drawn over.
func (s *IOStreams) HoldSpinner() (resume func()) {
	s.spinMu.Lock()
	sp := s.spinner
	s.spinMu.Unlock()
	if sp == nil {
		return func() {}
	}
	sp.mu.Lock()
	sp.held = true
	if sp.drawn {
		fmt.Fprint(sp.w, "\r\033[K")
		sp.drawn = false
	}
	sp.mu.Unlock()
	return func() {
		sp.mu.Lock()
		sp.held = false
		sp.mu.Unlock()
	}
}

func (sp *Spinner) run() {
	defer close(sp.done)
	select {
	case <-time.After(spinnerDelay):
	case <-sp.stop:
		return
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		sp.draw(spinnerFrames[i%len(spinnerFrames)])
		select {
		case <-tick.C:
		case <-sp.stop:
			return
		}
	}
}

func (sp *Spinner) draw(frame string) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.held {
		return
	}
	text := fmt.Sprintf("%s %s%s  %s  Ctrl-C to stop", frame, sp.prefix, sp.stage, elapsed(time.Since(sp.start)))
	// The stage may come from a server: shown, never obeyed. One line
	// that does not wrap, or \r could not take it back.
	text = Truncate(string(Sanitize([]byte(text))), sp.width-1)
	fmt.Fprintf(sp.w, "\r%s\033[K", text)
	sp.drawn = true
}

// elapsed is a duration as a person reads it: 9s, 1m05s.
func elapsed(d time.Duration) string {
	s := int(d.Seconds())
	if s < 60 {
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dm%02ds", s/60, s%60)
}

// Stage says what is being done now.
func (sp *Spinner) Stage(stage string) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	sp.stage = stage
	sp.mu.Unlock()
}

// Stop takes the spinner off the screen, before anything else is printed.
func (sp *Spinner) Stop() {
	if sp == nil {
		return
	}
	select {
	case <-sp.stop:
	default:
		close(sp.stop)
	}
	<-sp.done
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.drawn {
		fmt.Fprint(sp.w, "\r\033[K")
		sp.drawn = false
	}
}
