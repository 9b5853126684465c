package replcmd

import (
	"io"
	"sync"
	"time"
)

// keys is the terminal as the line editor reads it. chzyer/readline reads
// through a bufio.Reader of its own, which would keep whatever arrived with
// a line (a "y" typed or pasted after Enter) where nothing can reach it,
// to answer the next question. keys hands it one byte per Read, so that
// its buffer never holds more than a character, and keeps the rest here,
// where Discard throws it away before a question is asked.
//
// keys also says when a key was last pressed (for idle logoff), and can
// put keys in front of what was typed (Inject), which is how a Readline
// waiting for a person who went away is ended.
type keys struct {
	in io.Reader

	mu      sync.Mutex
	buf     []byte
	err     error
	reading bool
	last    time.Time
	// arrived wakes a Read waiting for keys.
	arrived chan struct{}
}

func newKeys(in io.Reader) *keys {
	return &keys{in: in, arrived: make(chan struct{}, 1)}
}

// Read hands out one byte. A read of the terminal is made only when the
// editor asks for a key and none is waiting.
func (k *keys) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		k.mu.Lock()
		if len(k.buf) > 0 {
			p[0] = k.buf[0]
			k.buf = k.buf[1:]
			k.mu.Unlock()
			return 1, nil
		}
		if k.err != nil {
			err := k.err
			k.mu.Unlock()
			return 0, err
		}
		if !k.reading {
			k.reading = true
			go k.fill()
		}
		k.mu.Unlock()
		<-k.arrived
	}
}

// fill reads what the terminal has. It runs on its own, so that Inject
// can end a Read that waits on a person.
func (k *keys) fill() {
	b := make([]byte, 256)
	n, err := k.in.Read(b)
	k.mu.Lock()
	k.buf = append(k.buf, b[:n]...)
	if n > 0 {
		k.last = time.Now()
	}
	if err != nil {
		k.err = err
	}
	k.reading = false
	k.mu.Unlock()
	k.wake()
}

func (k *keys) wake() {
	select {
	case k.arrived <- struct{}{}:
	default:
	}
}

// Inject puts b in front of whatever is typed next.
func (k *keys) Inject(b []byte) {
	k.mu.Lock()
	k.buf = append(append([]byte(nil), b...), k.buf...)
	k.mu.Unlock()
	k.wake()
}

// Discard throws away what was typed and not yet read.
func (k *keys) Discard() {
	k.mu.Lock()
	k.buf = nil
	k.mu.Unlock()
}

// LastKey is when a key was last pressed, or the zero time.
func (k *keys) LastKey() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last
}

// Close lets readline close its input; the terminal stays open.
func (k *keys) Close() error { return nil }
