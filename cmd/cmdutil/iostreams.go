package cmdutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/carebook/carebook/tools"
)

// IOStreams is where a command reads and writes, and what it knows about the
// terminal. Tests build one with Test and never touch a real terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// termOut and termErr are the raw terminal, for Carebook's own drawing
	// (the line editor, progress bars, clearing the screen); Out and ErrOut
	// escape control characters when they are a terminal.
	termOut io.Writer
	termErr io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool

	inReader *bufio.Reader
	// pending is a read of In still under way: a question abandoned for
	// Ctrl-C leaves its read blocked on the terminal, and the next
	// question takes that read's line rather than racing it.
	pending chan lineRead

	// spinner is the last spinner started, for HoldSpinner.
	spinMu  sync.Mutex
	spinner *Spinner

	// width reports the terminal's width in columns; nil means 80.
	width func() int

	// Prompter, when set, reads answers to questions instead of In: the
	// REPL sets it to its line editor, which owns the terminal.
	Prompter func(prompt string) (string, error)
	// FlushInput, when set, also throws away the type-ahead that a line
	// editor read ahead of the terminal (the REPL's).
	FlushInput func()
	// ChoosePatient, when set, offers a numbered choice between the
	// patients a name matches and returns the index of the one chosen (the
	// REPL sets it). Nil means a name that matches several patients fails
	// with the candidates listed, as in a script.
	ChoosePatient func(ctx context.Context, candidates []tools.PatientBrief) (int, error)
}

// System returns streams bound to the process's stdin, stdout and stderr.
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		termOut:   os.Stdout,
		termErr:   os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		width:     stdoutWidth,
	}
	// Data printed to a terminal is shown, never obeyed: escape sequences
	// in a stored name or a model's sentence are escaped.
	if s.stdoutTTY {
		s.Out = NewSafeWriter(os.Stdout)
	}
	if s.stderrTTY {
		s.ErrOut = NewSafeWriter(os.Stderr)
	}
	return s
}

// TerminalOut is stdout unescaped, for Carebook's own terminal control.
func (s *IOStreams) TerminalOut() io.Writer {
	if s.termOut != nil {
		return s.termOut
	}
	return s.Out
}

// TerminalErr is stderr unescaped, for progress bars and spinners.
func (s *IOStreams) TerminalErr() io.Writer {
	if s.termErr != nil {
		return s.termErr
	}
	return s.ErrOut
}

// DiscardTypeAhead throws away what was typed before a question was asked:
// keys pressed while the model was thinking must not answer it. That is
// the terminal's queue, and what a reader read ahead of it.
func (s *IOStreams) DiscardTypeAhead() {
	// While a read is pending, the reader is its goroutine's.
	if s.inReader != nil && s.pending == nil {
		s.inReader.Discard(s.inReader.Buffered())
	}
	if f, ok := s.In.(*os.File); ok && s.stdinTTY {
		flushTerminalInput(f)
	}
	if s.FlushInput != nil {
		s.FlushInput()
	}
}

// stdoutWidth is the width of the terminal on stdout, else $COLUMNS, else 80.
func stdoutWidth() int {
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
		return w
	}
	if w, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && w > 0 {
		return w
	}
	return 80
}

// TerminalWidth is how many columns a line on stdout may take.
func (s *IOStreams) TerminalWidth() int {
	if s.width == nil {
		return 80
	}
	return s.width()
}

// SetTerminalWidth fixes the terminal's width, for tests.
func (s *IOStreams) SetTerminalWidth(n int) { s.width = func() int { return n } }

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns streams over buffers, none of them a terminal.
func Test() (ios *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetStdinTTY pretends stdin is (or is not) a terminal, for tests.
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY pretends stdout is (or is not) a terminal, for tests.
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY pretends stderr is (or is not) a terminal, for tests.
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// IsStdinTTY reports whether a person may be typing on stdin.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether a person reads stdout: tables and colour for
// people, stable plain output for scripts.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal, where progress bars go.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the command may ask a question and wait.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }

// ErrNoAnswer is returned when stdin ends before a question is answered.
var ErrNoAnswer = errors.New("no answer on standard input")

type lineRead struct {
	line string
	err  error
}

// ReadLine reads one line from In, without its newline. It returns
// ErrCancelled as soon as ctx is done (Ctrl-C), without waiting for the
// Enter a blocked read needs: the read itself cannot be interrupted, so it
// carries on in the background for the next question, or dies with the
// process.
func (s *IOStreams) ReadLine(ctx context.Context) (string, error) {
	if s.inReader == nil {
		s.inReader = bufio.NewReader(s.In)
	}
	if s.pending == nil {
		ch := make(chan lineRead, 1)
		s.pending = ch
		r := s.inReader
		go func() {
			line, err := r.ReadString('\n')
			ch <- lineRead{line, err}
		}()
	}
	var got lineRead
	select {
	case got = <-s.pending:
		s.pending = nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return "", ErrCancelled
		}
		return "", ctx.Err()
	}
	line, err := got.line, got.err
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", ErrNoAnswer
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Confirm asks a yes/no question; anything but y or yes is no.
func (s *IOStreams) Confirm(ctx context.Context, question string) (bool, error) {
	answer, err := s.Ask(ctx, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// Ask shows prompt and reads one answer; Ctrl-C (ctx done) stops it at
// once with ErrCancelled.
func (s *IOStreams) Ask(ctx context.Context, prompt string) (string, error) {
	if s.Prompter != nil {
		return s.Prompter(prompt)
	}
	fmt.Fprint(s.Out, prompt)
	answer, err := s.ReadLine(ctx)
	if errors.Is(err, ErrCancelled) && s.stdoutTTY {
		// The terminal echoed ^C after the prompt: the message that
		// follows starts a line of its own.
		fmt.Fprintln(s.Out)
	}
	return answer, err
}

// ReadPassword reads a secret from the terminal without echo, or one line
// from stdin when it is not a terminal (echo PIN | carebook staff pin …).
// Ctrl-C (ctx done) stops it at once with ErrCancelled and the terminal
// echoing again.
func ReadPassword(ctx context.Context, s *IOStreams, prompt string) (string, error) {
	f, ok := s.In.(*os.File)
	if !ok || !s.stdinTTY {
		// Piped in, not typed: there is no Ctrl-C to wait for.
		line, err := s.ReadLine(context.Background())
		return strings.TrimSpace(line), err
	}
	fd := int(f.Fd())
	// term.ReadPassword restores the terminal only when its read returns,
	// which a blocked read does not until Enter; Ctrl-C restores it here.
	saved, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	fmt.Fprint(s.TerminalErr(), prompt)
	type secretRead struct {
		b   []byte
		err error
	}
	ch := make(chan secretRead, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- secretRead{b, err}
	}()
	select {
	case got := <-ch:
		fmt.Fprintln(s.TerminalErr())
		return string(got.b), got.err
	case <-ctx.Done():
		// The abandoned read stays blocked on the terminal until the
		// process ends; a cancelled PIN ends the command, so nothing
		// else reads after it.
		term.Restore(fd, saved)
		fmt.Fprintln(s.TerminalErr())
		if errors.Is(ctx.Err(), context.Canceled) {
			return "", ErrCancelled
		}
		return "", ctx.Err()
	}
}
