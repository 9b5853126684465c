// Package replcmd is the interactive session: `carebook` on a terminal, or
// `carebook repl`. Plain-language requests go to the model; slash commands
// run the plain commands without one.
package replcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/client"
	"github.com/carebook/carebook/cmd/cmdutil"
	"github.com/carebook/carebook/cmd/present"
	"github.com/carebook/carebook/cmd/session"
	"github.com/carebook/carebook/history"
	"github.com/carebook/carebook/tools"
)

// Options holds the REPL's dependencies.
type Options struct {
	IO      *cmdutil.IOStreams
	Backend func(context.Context) (backend.Backend, error)
	// RunCommand runs a plain carebook command line, for slash commands.
	RunCommand func(ctx context.Context, args []string) error
	// Interrupts delivers Ctrl-C while a request is in flight. Nil means
	// the process's SIGINT.
	Interrupts <-chan os.Signal
	// HistoryFile keeps history across sessions when set (history = true
	// in the configuration); empty keeps it in memory only.
	HistoryFile func() (string, error)
	// WarmModel readies the model as the session starts (backend.Warm: the
	// model checked as before every request, then sent the prompt's fixed
	// prefix), so that the first request finds it loaded and that prefix in
	// Ollama's cache; the banner says when it is ready. Nil skips it.
	WarmModel func(ctx context.Context, b backend.Backend) error
}

// NewCmdREPL builds `carebook repl`.
func NewCmdREPL(f *cmdutil.Factory, runCommand func(context.Context, []string) error) *cobra.Command {
	opts := NewOptions(f, runCommand)
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Start an interactive session (the default on a terminal)",
		Long: `Type requests in plain language, or slash commands (/help lists them) that
work without a model. Ctrl-C stops the request in flight; Ctrl-D, /bye or exit
leaves. History lives in memory only and is gone when the session ends,
unless the configuration file says history = true: then it is kept beside
the database (mode 0600), and forget removes the lines that name a patient.

A session left idle for idle_logoff (configuration; 10 minutes unless set)
locks: the screen is cleared, and it asks for the PIN (or Enter, for an OS
account that is one staff member) before it goes on.`,
		Args: cmdutil.Args(0, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	cmdutil.AddModelFlags(cmd, f)
	return cmd
}

// NewOptions builds the REPL's options from the factory.
func NewOptions(f *cmdutil.Factory, runCommand func(context.Context, []string) error) *Options {
	return &Options{IO: f.IOStreams, Backend: f.ExistingBackend, RunCommand: runCommand,
		HistoryFile: func() (string, error) {
			// Through carebook serve, a forget on the server cannot scrub a
			// workstation's file: the history stays in memory.
			if socket, _, err := f.Server(); err != nil || socket != "" {
				return "", err
			}
			cfg, err := f.Config()
			if err != nil || !cfg.History {
				return "", err
			}
			abs, err := filepath.Abs(f.DatabasePath())
			if err != nil {
				return "", err
			}
			return history.Path(abs), nil
		},
		// Through carebook serve, the server warms its own model.
		WarmModel: func(ctx context.Context, b backend.Backend) error { return b.Warm(ctx) },
	}
}

// warmTimeout bounds the warm-up: loading a model of a few gigabytes from
// a slow disk, then evaluating the prefix on a CPU.
const warmTimeout = 3 * time.Minute

// errIdle ends a Readline that waited past idle_logoff.
var errIdle = errors.New("the session locked after sitting idle; nothing was done")

// errLeave is Ctrl-D at the lock: the session ends.
var errLeave = errors.New("left while locked")

// ctrlC is what a Readline is ended with. Twice: the first may only leave
// completion or search mode.
var ctrlC = []byte{3, 3}

// clearScreen clears the screen and the terminal's scroll-back, where
// patient data would otherwise stay.
const clearScreen = "\033[H\033[2J\033[3J"

// repl is one session.
type repl struct {
	opts *Options
	b    backend.Backend
	info *backend.Info
	rl   *readline.Instance
	cfg  *readline.Config
	keys *keys
	comp *completer
	s    *session.Session

	// idled is set when a Readline waited past idle_logoff.
	idled atomic.Bool
	// left is set by Ctrl-D at an unlock the server's lock asked for.
	left atomic.Bool
	// busy is set while a request or command runs; late holds the lines
	// that came meanwhile (sayLate).
	lateMu sync.Mutex
	busy   bool
	late   []string
	// done is closed when the session ends.
	done chan struct{}
}

// Run runs the session until Ctrl-D or /bye.
func Run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	// Ask once up front, so that a missing database or a refused login is
	// said at once.
	info, err := b.Info(ctx)
	if err != nil {
		return err
	}
	if _, err := b.Tags(ctx); err != nil {
		return err
	}
	// The model is readied while the session starts: checked, loaded and
	// given the prompt's fixed prefix. Loading a model from disk and
	// evaluating the prefix on a CPU can take a minute; a request typed
	// meanwhile queues behind it in Ollama (one request at a time, unless
	// OLLAMA_NUM_PARALLEL says otherwise), and finds the prefix cached. The
	// warm-up is stopped when the session ends.
	modelDone := make(chan error, 1)
	if opts.WarmModel != nil {
		// Not main's context: Ctrl-C stops a request, not the warm-up.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), warmTimeout)
		defer cancel()
		go func() { modelDone <- opts.WarmModel(wctx, b) }()
	}

	historyFile := ""
	if opts.HistoryFile != nil {
		if historyFile, err = opts.HistoryFile(); err != nil {
			return err
		}
		if historyFile != "" {
			if err := history.Prepare(historyFile); err != nil {
				return err
			}
		}
	}

	r := &repl{opts: opts, b: b, info: info, keys: newKeys(opts.IO.In), comp: &completer{b: b}, done: make(chan struct{})}
	if c, ok := b.(*client.Client); ok {
		c.OnLocked = r.serverLocked
		defer func() { c.OnLocked = nil }()
	}
	if err := r.start(historyFile); err != nil {
		return err
	}
	defer r.rl.Close()
	defer close(r.done)
	ios := opts.IO
	ios.Prompter = r.prompt
	ios.ChoosePatient = func(ctx context.Context, candidates []tools.PatientBrief) (int, error) {
		return present.ChoosePatient(ctx, ios, candidates)
	}
	if _, isFile := ios.In.(*os.File); isFile {
		// A question throws away what the line editor read ahead of it.
		// Keys a test scripts in advance are no type-ahead: only a real
		// terminal's are thrown away.
		ios.FlushInput = r.keys.Discard
	}
	defer func() { ios.Prompter, ios.ChoosePatient, ios.FlushInput = nil, nil, nil }()
	r.s = &session.Session{IO: ios, Backend: b, Channel: cmdutil.ChannelREPL}

	r.banner(modelDone, opts.WarmModel != nil)
	if line := session.TaskGreeting(ctx, b); line != "" {
		fmt.Fprintln(ios.Out, line)
	}
	return r.loop(ctx)
}

// start builds the line editor over the keys.
func (r *repl) start(historyFile string) error {
	ios := r.opts.IO
	r.cfg = &readline.Config{
		Prompt:         "carebook> ",
		HistoryFile:    historyFile, // "" keeps it in memory: requests name patients
		HistoryLimit:   history.Limit,
		AutoComplete:   r.comp,
		Stdin:          r.keys,
		Stdout:         ios.TerminalOut(),
		Stderr:         ios.TerminalErr(),
		FuncIsTerminal: ios.CanPrompt,
	}
	// readline turns completion off on a terminal that reports no width
	// (a bare pty, some serial consoles), so assume 80 columns then.
	r.cfg.FuncGetWidth = func() int {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			return w
		}
		return 80
	}
	if _, isFile := ios.In.(*os.File); !isFile {
		// Streams that only pretend to be a terminal (tests) have no modes
		// to switch and no width to ask for.
		r.cfg.FuncMakeRaw = func() error { return nil }
		r.cfg.FuncExitRaw = func() error { return nil }
		r.cfg.FuncGetWidth = func() int { return 100 }
		r.cfg.FuncOnWidthChanged = func(func()) {}
	}
	rl, err := readline.NewEx(r.cfg)
	if err != nil {
		return fmt.Errorf("start the line editor: %w", err)
	}
	r.rl = rl
	return nil
}

// loop reads and runs requests until the person leaves.
func (r *repl) loop(ctx context.Context) error {
	ios := r.opts.IO
	interrupts := r.opts.Interrupts
	if interrupts == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		interrupts = ch
	}
	// The session outlives a Ctrl-C, which only stops the request in flight;
	// main's context is cancelled by that same signal, so it is not used.
	base := context.WithoutCancel(ctx)
	for {
		line, err := r.readLine("carebook> ")
		switch {
		case errors.Is(err, errIdle):
			if err := r.lock(base); err != nil {
				return leaveErr(err)
			}
			continue
		case errors.Is(err, readline.ErrInterrupt):
			continue // Ctrl-C at the prompt clears the line, as in a shell
		case errors.Is(err, io.EOF):
			fmt.Fprintln(ios.Out)
			return nil
		case err != nil:
			return fmt.Errorf("read a line: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if isLeaving(line) {
			return nil
		}

		reqCtx, cancel := context.WithCancel(context.WithValue(base, waiting{}, true))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sig := <-interrupts:
				if sig == syscall.SIGTERM {
					fmt.Fprintln(ios.ErrOut, "terminated")
				}
				cancel()
			case <-stop:
			}
		}()
		r.setBusy(true)
		if strings.HasPrefix(line, "/") {
			err = r.slash(reqCtx, line)
		} else {
			_, err = r.s.Ask(reqCtx, line, session.Options{})
		}
		r.comp.forget() // a request may have added a tag
		close(stop)
		wg.Wait()
		cancelled := reqCtx.Err() != nil
		cancel()
		if r.left.Load() {
			r.setBusy(false)
			return nil
		}
		if r.idled.Load() {
			// The person left at a question: the plan was declined, and
			// the screen is cleared now.
			if err := r.lock(base); err != nil {
				return leaveErr(err)
			}
			r.setBusy(false)
			continue
		}
		report(ios, err, cancelled)
		r.setBusy(false)
	}
}

func leaveErr(err error) error {
	if errors.Is(err, errLeave) {
		return nil
	}
	return err
}

func isLeaving(line string) bool {
	for _, l := range leaving {
		if strings.EqualFold(line, l) {
			return true
		}
	}
	return false
}

// readLine reads one line at prompt. A Readline that waits past
// idle_logoff (counted from the last key pressed) is ended, and errIdle
// returned: the caller locks the session.
func (r *repl) readLine(prompt string) (string, error) {
	r.rl.SetPrompt(prompt)
	stop := r.watchIdle()
	line, err := r.rl.Readline()
	stop()
	if r.idled.Load() {
		return "", errIdle
	}
	return line, err
}

// prompt is the REPL's IOStreams.Prompter: questions (y/N, which patient)
// are read by the line editor, which owns the terminal.
func (r *repl) prompt(prompt string) (string, error) {
	defer r.rl.SetPrompt("carebook> ")
	line, err := r.readLine(prompt)
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", cmdutil.ErrCancelled
	case errors.Is(err, io.EOF):
		return "", cmdutil.ErrNoAnswer
	}
	return line, err
}

// watchIdle ends the Readline under way once no key was pressed for
// idle_logoff, and returns the function that stops watching.
func (r *repl) watchIdle() (stop func()) {
	idle := r.info.IdleLogoff
	if idle <= 0 {
		return func() {}
	}
	started := time.Now()
	var mu sync.Mutex
	stopped := false
	var timer *time.Timer
	var check func()
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		since := started
		if last := r.keys.LastKey(); last.After(since) {
			since = last
		}
		if left := idle - time.Since(since); left > 0 {
			timer = time.AfterFunc(left, check)
			return
		}
		r.idled.Store(true)
		r.keys.Inject(ctrlC)
	}
	timer = time.AfterFunc(idle, check)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
	}
}

// lock clears the screen and waits for the PIN, or for Enter when this
// OS account is one staff member, before the session goes on (HIPAA
// 164.312(a)(2)(iii), automatic logoff). The backend records the lock and
// the unlock, and counts wrong PINs.
func (r *repl) lock(ctx context.Context) error {
	ios := r.opts.IO
	r.keys.Discard()
	lockErr := r.b.Lock(ctx)
	fmt.Fprint(ios.TerminalOut(), clearScreen)
	fmt.Fprintf(ios.Out, "Carebook locked itself after %s without a key pressed, and cleared the screen.\n", r.info.IdleLogoff)
	if lockErr != nil {
		fmt.Fprintln(ios.ErrOut, lockErr)
	}
	return r.unlock(ctx)
}

// waiting marks the context of a request the person typed and waits for:
// only then is the terminal free for the unlock's question.
type waiting struct{}

// serverLocked is the client's OnLocked: carebook serve locked the session
// before the REPL did (its clock counts requests, the REPL's keys, and a
// laptop that slept counts neither). The REPL locks as it would itself,
// and the request the server refused before running any of it is sent
// again once unlocked.
func (r *repl) serverLocked(ctx context.Context, refusal error) error {
	if ctx.Value(waiting{}) == nil {
		// The model's warm-up or a completion: the line editor may be
		// reading a line, and the person's next request unlocks.
		return refusal
	}
	ios := r.opts.IO
	defer ios.HoldSpinner()()
	r.keys.Discard()
	fmt.Fprint(ios.TerminalOut(), clearScreen)
	fmt.Fprintf(ios.Out, "carebook serve locked this session after %s without a request, and the screen was cleared.\n", r.info.IdleLogoff)
	if err := r.unlock(ctx); err != nil {
		if errors.Is(err, errLeave) {
			r.left.Store(true)
		}
		return err
	}
	return nil
}

// unlock waits for the PIN, or Enter, until the backend unlocks the
// session.
func (r *repl) unlock(ctx context.Context) error {
	ios := r.opts.IO
	for {
		var answer string
		var err error
		if r.info.NeedsPIN {
			answer, err = r.readSecret(fmt.Sprintf("PIN for %s (Ctrl-D leaves): ", r.who()))
		} else {
			r.rl.SetPrompt("Press Enter to go on (Ctrl-D leaves): ")
			answer, err = r.rl.Readline()
		}
		switch {
		case errors.Is(err, io.EOF):
			fmt.Fprintln(ios.Out)
			return errLeave
		case errors.Is(err, readline.ErrInterrupt):
			continue
		case err != nil:
			return err
		}
		if err := r.b.Unlock(ctx, backend.UnlockRequest{PIN: answer}); err != nil {
			// A wrong PIN keeps the session locked; the backend counts it.
			fmt.Fprintln(ios.ErrOut, err)
			continue
		}
		r.idled.Store(false)
		fmt.Fprintln(ios.Out, "Unlocked.")
		return nil
	}
}

// readSecret reads a PIN through the line editor, masked.
func (r *repl) readSecret(prompt string) (string, error) {
	cfg := r.rl.GenPasswordConfig()
	cfg.Prompt, cfg.MaskRune = prompt, '*'
	cfg.Stdin, cfg.FuncIsTerminal, cfg.FuncGetWidth = r.keys, r.cfg.FuncIsTerminal, r.cfg.FuncGetWidth
	cfg.FuncMakeRaw, cfg.FuncExitRaw, cfg.FuncOnWidthChanged = r.cfg.FuncMakeRaw, r.cfg.FuncExitRaw, r.cfg.FuncOnWidthChanged
	b, err := r.rl.ReadPasswordWithConfig(cfg)
	return string(b), err
}

func (r *repl) who() string {
	if r.info.Staff != "" {
		return r.info.Staff
	}
	return r.info.OSUser
}

// report prints what went wrong with one request, and keeps the session.
func report(ios *cmdutil.IOStreams, err error, cancelled bool) {
	var msg *backend.MessageError
	switch {
	case err == nil:
	case errors.Is(err, cmdutil.ErrDeclined) && !cancelled:
		fmt.Fprintln(ios.ErrOut, "Not confirmed; nothing was done.")
	case cancelled || errors.Is(err, context.Canceled) || errors.Is(err, cmdutil.ErrCancelled):
		fmt.Fprintln(ios.ErrOut, "Cancelled; nothing was written.")
	case errors.As(err, &msg), errors.Is(err, cmdutil.ErrSilent):
		// Already shown.
	default:
		fmt.Fprintln(ios.ErrOut, err)
	}
}

// slash runs a slash command. The words after its name are taken as a
// person types them: /show Jon Smyth, /log P1002 call Left a voicemail.
func (r *repl) slash(ctx context.Context, line string) error {
	name, rest, _ := strings.Cut(line, " ")
	cmd, ok := lookupSlash(strings.ToLower(name))
	if !ok {
		return fmt.Errorf("there is no %s; /help lists the commands", name)
	}
	switch cmd.name {
	case "/help":
		printHelp(r.opts.IO.Out)
		return nil
	case "/clear":
		fmt.Fprint(r.opts.IO.TerminalOut(), clearScreen)
		return nil
	}
	words, flags, err := parseSlash(rest)
	if err != nil {
		return err
	}
	argv, err := cmd.argv(words, flags)
	if err != nil {
		return err
	}
	err = r.opts.RunCommand(ctx, argv)
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) {
		return fmt.Errorf("%w (/help lists the commands)", err)
	}
	return err
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Ask in plain language, for example:")
	fmt.Fprintln(w, "  who has a birthday in June")
	fmt.Fprintln(w, "  tag everyone who no-showed in the last 6 months as no-show-risk")
	fmt.Fprintln(w, "Changes are previewed and need a yes. Slash commands need no model, and no")
	fmt.Fprintln(w, "quotes around a name (Tab completes):")
	t := cmdutil.NewTable(w, true)
	for _, c := range slashCommands {
		t.Row("  "+c.name+" "+c.args, c.help)
	}
	t.Flush()
}

// banner says what the session is connected to, as psql does, and
// whether the model is ready.
func (r *repl) banner(modelDone <-chan error, warming bool) {
	ios := r.opts.IO
	where := "on " + r.info.Database
	if r.info.Mode == "server" {
		where = "through carebook serve at " + r.info.Server
	}
	who := r.info.OSUser
	if r.info.Staff != "" {
		who = r.info.Staff + " (" + r.info.Role + ")"
	}
	fmt.Fprintf(ios.Out, "Carebook %s as %s, with the model %s.\n", where, who, r.info.Model)
	if warming {
		// A model loaded already, with the prefix cached, is ready at
		// once; a cold one is not waited for.
		select {
		case err := <-modelDone:
			fmt.Fprintln(ios.Out, modelStatus(r.info.Model, err))
		case <-time.After(time.Second):
			fmt.Fprintf(ios.Out, "The model %s is warming up; you can type already.\n", r.info.Model)
			go func() {
				select {
				case err := <-modelDone:
					r.sayLate(modelStatus(r.info.Model, err))
				case <-r.done:
				}
			}()
		}
	}
	fmt.Fprintln(ios.Out, "Ask in plain language, or type /help. Ctrl-D or exit leaves.")
}

// sayLate shows a line that came after the banner (the model is ready):
// above the prompt at once while the person is at it, else, while a
// request or a command runs and writes its own output, before the next
// prompt.
func (r *repl) sayLate(line string) {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	if r.busy {
		r.late = append(r.late, line)
		return
	}
	r.rl.Write(cmdutil.Sanitize([]byte(line + "\n")))
}

// setBusy marks a request or command running, or done: then the lines that
// came meanwhile are shown.
func (r *repl) setBusy(busy bool) {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	r.busy = busy
	if !busy {
		for _, l := range r.late {
			fmt.Fprintln(r.opts.IO.Out, string(cmdutil.Sanitize([]byte(l))))
		}
		r.late = nil
	}
}

func modelStatus(model string, err error) string {
	if err == nil {
		return "The model " + model + " is ready."
	}
	return fmt.Sprintf("The model is not answering (%v): requests in plain language will fail until it does; slash commands work.", err)
}
