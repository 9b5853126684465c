package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/carebook/carebook/store"
)

// lookup finds s in one of the value tables below, folded: ASCII lower case,
// with runs of spaces, tabs, '_' and '-' turned into one space and trimmed.
// So "Opted-In", "opted_in" and " opted in " agree. It does not allocate.
func lookup[T any](table map[string]T, s string) (T, bool) {
	var buf [48]byte
	b := buf[:0]
	gap := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '_' || c == '-':
			gap = len(b) > 0
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if gap {
			b = append(b, ' ')
			gap = false
		}
		b = append(b, c)
	}
	v, ok := table[string(b)]
	return v, ok
}

// consentValues reads a marketing opt-in cell, including HubSpot's
// "Marketing contact status" and Mailchimp's subscription states.
var consentValues = map[string]bool{
	"": false, "no": false, "n": false, "false": false, "f": false, "0": false,
	"opted out": false, "opt out": false, "optout": false, "unsubscribed": false, "not subscribed": false,
	"non marketing contact": false, "cleaned": false, "declined": false,
	"yes": true, "y": true, "true": true, "t": true, "1": true,
	"opted in": true, "opt in": true, "optin": true, "subscribed": true, "marketing contact": true,
}

// statusValues reads a patient status. HubSpot lifecycle stages describe a
// sales funnel, not care, so every one of them means the patient is active.
var statusValues = map[string]store.Status{
	"": store.StatusActive, "active": store.StatusActive, "current": store.StatusActive, "patient": store.StatusActive,
	"subscriber": store.StatusActive, "lead": store.StatusActive, "customer": store.StatusActive,
	"opportunity": store.StatusActive, "other": store.StatusActive, "evangelist": store.StatusActive,
	"marketing qualified lead": store.StatusActive, "marketingqualifiedlead": store.StatusActive,
	"sales qualified lead": store.StatusActive, "salesqualifiedlead": store.StatusActive,
	"inactive": store.StatusInactive, "former": store.StatusInactive, "former patient": store.StatusInactive,
	"former customer": store.StatusInactive, "archived": store.StatusInactive, "discharged": store.StatusInactive,
	"deceased": store.StatusDeceased,
}

var appointmentStatusValues = map[string]store.AppointmentStatus{
	"": store.AppointmentScheduled, "scheduled": store.AppointmentScheduled, "booked": store.AppointmentScheduled,
	"confirmed": store.AppointmentScheduled, "pending": store.AppointmentScheduled,
	"completed": store.AppointmentCompleted, "complete": store.AppointmentCompleted, "attended": store.AppointmentCompleted,
	"checked out": store.AppointmentCompleted, "checkedout": store.AppointmentCompleted, "seen": store.AppointmentCompleted,
	"no show": store.AppointmentNoShow, "noshow": store.AppointmentNoShow, "missed": store.AppointmentNoShow,
	"cancelled": store.AppointmentCancelled, "canceled": store.AppointmentCancelled,
}

var channelValues = map[string]store.Channel{
	"call": store.ChannelCall, "phone": store.ChannelCall, "phone call": store.ChannelCall, "voicemail": store.ChannelCall,
	"sms": store.ChannelSMS, "text": store.ChannelSMS, "text message": store.ChannelSMS,
	"email": store.ChannelEmail, "e mail": store.ChannelEmail,
	"in person": store.ChannelInPerson, "inperson": store.ChannelInPerson, "visit": store.ChannelInPerson,
	"portal": store.ChannelPortal, "patient portal": store.ChannelPortal,
	"letter": store.ChannelLetter, "mail": store.ChannelLetter,
	"note": store.ChannelNote,
}

var directionValues = map[string]store.Direction{
	"inbound": store.DirectionInbound, "in": store.DirectionInbound, "incoming": store.DirectionInbound,
	"outbound": store.DirectionOutbound, "out": store.DirectionOutbound, "outgoing": store.DirectionOutbound,
}

var sexValues = map[string]string{
	"": "", "unknown": "", "u": "",
	"f": "female", "female": "female", "woman": "female",
	"m": "male", "male": "male", "man": "male",
	"x": "other", "other": "other", "non binary": "other", "nonbinary": "other",
}

// normSex keeps the usual spellings together and anything else as written.
func normSex(s string) string {
	if v, ok := lookup(sexValues, s); ok {
		return v
	}
	return strings.ToLower(s)
}

// languageNames spells languages the same whether an export gives a code
// (HubSpot often does) or a name.
var languageNames = map[string]string{
	"en": "English", "english": "English", "es": "Spanish", "spanish": "Spanish", "espanol": "Spanish",
	"fr": "French", "french": "French", "de": "German", "german": "German", "pl": "Polish", "polish": "Polish",
	"vi": "Vietnamese", "vietnamese": "Vietnamese", "zh": "Chinese", "chinese": "Chinese",
	"pt": "Portuguese", "portuguese": "Portuguese", "ru": "Russian", "russian": "Russian",
	"ar": "Arabic", "arabic": "Arabic", "ko": "Korean", "korean": "Korean", "tl": "Tagalog", "tagalog": "Tagalog",
	"ht": "Haitian Creole", "haitian creole": "Haitian Creole", "it": "Italian", "italian": "Italian",
	"ja": "Japanese", "japanese": "Japanese", "hi": "Hindi", "hindi": "Hindi",
}

func normLanguage(s string) string {
	if v, ok := lookup(languageNames, s); ok {
		return v
	}
	// A locale such as en-US or es_MX.
	if len(s) == 5 && (s[2] == '-' || s[2] == '_') {
		if v, ok := lookup(languageNames, s[:2]); ok {
			return v
		}
	}
	return s
}

// normEmail trims and lower-cases an address and checks its shape: one '@'
// with text either side and no spaces. It does not try to be RFC 5322.
func normEmail(s string) (string, bool) {
	s = strings.ToLower(s)
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", false
	}
	if strings.ContainsAny(s, " \t,;<>\"") {
		return "", false
	}
	return s, true
}

// normPhone keeps the digits of a phone number, drops a leading US country
// code and an extension, and refuses anything that is not a phone number.
func normPhone(s string) (string, bool) {
	if i := strings.IndexAny(s, "xX#eE"); i >= 0 {
		rest := strings.ToLower(strings.TrimSpace(s[i:]))
		if !strings.HasPrefix(rest, "x") && !strings.HasPrefix(rest, "ext") && !strings.HasPrefix(rest, "#") {
			return "", false // 5.55E+09 from a spreadsheet, or text
		}
		s = s[:i]
	}
	var buf [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '\t' || c == '(' || c == ')' || c == '-' || c == '.' || c == '+' || c == '/':
		default:
			return "", false
		}
	}
	d := buf[:n]
	if n == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) < 7 || len(d) > 15 {
		return "", false
	}
	return string(d), true
}

// normTags splits a tag cell on ';' and ',' and turns each part into
// lowercase-kebab, as store.ValidTagName wants: spaces and underscores become
// '-', other characters are dropped. Empty and repeated tags are left out.
func normTags(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ';' || r == ',' }) {
		t := kebab(part)
		if t == "" || !store.ValidTagName(t) {
			continue
		}
		dup := false
		for _, o := range out {
			if o == t {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

func kebab(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '_' || c == '-' || c == '\t':
			dash = len(b) > 0
			continue
		default:
			continue
		}
		if dash {
			b = append(b, '-')
			dash = false
		}
		b = append(b, c)
	}
	return string(b)
}

// layout is one accepted way of writing a date or a time.
type layout struct {
	format string
	zoned  bool // carries its own offset
}

var usLayouts = []layout{
	{"1/2/2006", false},
	{"1/2/2006 15:04", false},
	{"1/2/2006 15:04:05", false},
	{"1/2/2006 3:04 PM", false},
	{"1/2/2006 3:04:05 PM", false},
	{"1/2/2006 3:04PM", false},
}

var isoLayouts = []layout{
	{time.DateOnly, false},
	{time.DateTime, false},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02 15:04", false},
	{"2006-01-02T15:04", false},
	{time.RFC3339, true},
	{"2006-01-02 15:04:05Z07:00", true},
}

// parseTime reads a date or a date and time in one of the accepted layouts.
// A zoned time keeps its own zone; any other comes back in UTC, reading as
// written.
func parseTime(s string) (time.Time, bool, bool) {
	layouts := isoLayouts
	if strings.IndexByte(s, '/') >= 0 {
		layouts = usLayouts
	}
	for _, l := range layouts {
		if !plausible(l.format, s) {
			continue
		}
		if t, err := time.Parse(l.format, s); err == nil {
			return t, l.zoned, true
		}
	}
	return time.Time{}, false, false
}

// plausible skips layouts that cannot match s, so that the common cases do
// not pay for a failed time.Parse (each allocates its error).
func plausible(format, s string) bool {
	switch format {
	case time.DateOnly:
		return len(s) == 10
	case time.DateTime, "2006-01-02T15:04:05":
		return len(s) >= 19 && s[10] == format[10] && (len(s) == 19 || s[19] == '.')
	case "2006-01-02 15:04", "2006-01-02T15:04":
		return len(s) == 16 && s[10] == format[10]
	case time.RFC3339:
		return len(s) > 19 && s[10] == 'T'
	case "2006-01-02 15:04:05Z07:00":
		return len(s) > 19 && s[10] == ' '
	case "1/2/2006":
		return len(s) <= 10
	}
	return true
}

// parseWall reads an appointment or interaction time as the practice's
// wall-clock reading: a time with an offset is first moved to the local zone.
func parseWall(s string) (time.Time, bool) {
	t, zoned, ok := parseTime(s)
	if !ok {
		return time.Time{}, false
	}
	if zoned {
		t = t.In(time.Local)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), true
}

// parseDOB reads a date of birth as midnight UTC. A month and day with no
// year (Mailchimp's birthday field) is valid but says nothing usable: it
// comes back as yearless with a zero time.
func parseDOB(s string) (dob time.Time, yearless, ok bool) {
	if strings.Count(s, "/") == 1 {
		// Check it is a real day; 2000 is a leap year, so 02/29 passes.
		if _, err := time.Parse("1/2/2006", s+"/2000"); err != nil {
			return time.Time{}, false, false
		}
		return time.Time{}, true, true
	}
	t, _, ok := parseTime(s)
	if !ok {
		return time.Time{}, false, false
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), false, true
}

// derivedID is a stable id made from a row's key fields, so that importing
// the same file twice updates rather than duplicates.
func derivedID(prefix string, parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{'|'})
		}
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return prefix + hex.EncodeToString(h.Sum(sum[:0])[:8])
}
