package prompts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carebook/carebook/store"
	"github.com/carebook/carebook/tools"
)

func TestSystem(t *testing.T) {
	s := System()
	if s != System() {
		t.Fatal("System changes between calls")
	}
	if !strings.HasPrefix(s, strings.TrimSpace(systemText)) || !strings.HasSuffix(s, tools.StaticSchemaDoc()) {
		t.Errorf("System is not system.txt followed by the action format")
	}
	for _, must := range []string{"parser, not a reader", "exactly one JSON action", "clarify", "refuse", "carebook forget",
		// Issue 15 #6 and issue 17 #4: rules, not one example per case.
		// (What to write for a list the request turn does not show, the
		// turn itself says: agent.RequestTurn.)
		`"in the last year" is the past 12 months`, `"last year" the calendar year before`, "where.name", "one name alone",
		"no_appointment", "heard from", "birth dates",
		// The records tools: adding and merging patients are plain
		// commands, and so is changing who a patient is.
		"deleting, adding or merging patients", "patient add", "patient merge", "changing names or birth dates",
		// What the stand-in readers found the prompt left open: a visit
		// none since X, a copied time phrase, a tag that says a language,
		// a staff label.
		"none since X: last_visit_before X", `("in the" too)`, `"X-speaking": language X, not a tag`, "staff (contains; the name alone)"} {
		if !strings.Contains(s, must) {
			t.Errorf("system prompt does not say %q", must)
		}
	}
	// The model may now change more than tags and the contact log.
	if strings.Contains(s, "anything but tags") {
		t.Errorf("system prompt still refuses every change but tags and the contact log")
	}
}

// argsTypes are the structs each tool's arguments decode into.
var argsTypes = map[string]reflect.Type{
	tools.ToolQuery:          reflect.TypeFor[tools.QueryArgs](),
	tools.ToolTag:            reflect.TypeFor[tools.TagArgs](),
	tools.ToolUntag:          reflect.TypeFor[tools.TagArgs](),
	tools.ToolLogInteraction: reflect.TypeFor[tools.LogArgs](),
	tools.ToolClarify:        reflect.TypeFor[tools.MessageArgs](),
	tools.ToolRefuse:         reflect.TypeFor[tools.MessageArgs](),
	tools.ToolUpdatePatient:  reflect.TypeFor[tools.UpdatePatientArgs](),
	tools.ToolSetConsent:     reflect.TypeFor[tools.ConsentArgs](),
	tools.ToolAddTask:        reflect.TypeFor[tools.AddTaskArgs](),
	tools.ToolCompleteTask:   reflect.TypeFor[tools.CompleteTaskArgs](),
}

// taughtByDoc are the tools with no example: the action format's line for
// each says all an example would (issue 15: rules and denser examples, not
// one example per tool, within the static prompt's token budget). Every
// other tool the prompt teaches has an example.
var taughtByDoc = map[string]string{
	tools.ToolUntag:         "shares tag's line (tag, untag) and its members",
	tools.ToolUpdatePatient: "its members are the fields it changes",
}

func TestExamples(t *testing.T) {
	ex := Examples()
	if n := len(ex); n < 8 || n > 15 {
		t.Errorf("%d examples, want 8 to 15", n)
	}
	// With every list filled, no member is left out of the schema.
	schema := tools.ActionSchema(store.Vocabulary{
		Tags: []string{"asthma"}, Providers: []string{"Dr. Reyes"}, AppointmentTypes: []string{"annual-physical"},
		Cities: []string{"Lakeside"}, Languages: []string{"Spanish"},
	})
	used := map[string]bool{}
	seen := map[string]bool{}
	for _, e := range ex {
		t.Run(e.Request, func(t *testing.T) {
			if seen[e.Request] {
				t.Errorf("duplicate request")
			}
			seen[e.Request] = true
			if bytes.ContainsAny(e.Action, "\n\r") {
				t.Errorf("action is not on one line")
			}
			action, err := tools.ParseAction(e.Action)
			if err != nil {
				t.Fatal(err)
			}
			used[action.Tool] = true
			typ, ok := argsTypes[action.Tool]
			if !ok {
				t.Fatalf("unknown tool %q", action.Tool)
			}
			dec := json.NewDecoder(bytes.NewReader(action.Args))
			dec.DisallowUnknownFields()
			if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
				t.Errorf("args do not fit %s: %v", typ.Name(), err)
			}
			checkOrder(t, "", e.Action, schema, schema["$defs"].(map[string]any))
		})
	}
	for _, name := range tools.ToolNames {
		_, byDoc := taughtByDoc[name]
		switch {
		case !used[name] && !byDoc:
			t.Errorf("no example uses %s", name)
		case used[name] && byDoc:
			t.Errorf("%s has an example: take it out of taughtByDoc", name)
		case byDoc && !regexp.MustCompile(`(?m)^(\w+, )?`+name+`(, \w+)?: `).MatchString(tools.StaticSchemaDoc()):
			t.Errorf("%s has no example and no line of its own in the action format", name)
		}
	}
	for name := range taughtByDoc {
		if !slices.Contains(tools.ToolNames, name) {
			t.Errorf("taughtByDoc names %s, which the prompt does not teach", name)
		}
	}
}

// An example that logs a contact follows the direction rule: a request that
// says we contacted them writes outbound, one that says they contacted us
// inbound (stand-in readers of issue 15 found a mailing that said "we" and
// left direction out).
func TestExampleLogsFollowTheDirectionRule(t *testing.T) {
	for _, e := range Examples() {
		action, err := tools.ParseAction(e.Action)
		if err != nil || action.Tool != tools.ToolLogInteraction {
			continue
		}
		var args tools.LogArgs
		if err := json.Unmarshal(action.Args, &args); err != nil {
			t.Fatal(err)
		}
		we := regexp.MustCompile(`(?i)^(we|i)\b`).MatchString(e.Request)
		if we && args.Direction != "outbound" {
			t.Errorf("%q says we contacted them, and logs direction %q", e.Request, args.Direction)
		}
	}
}

// checkOrder checks that raw is written in the order Ollama's grammar
// imposes (required members first, then the optional ones, each in schema
// order), so that the examples show the model what it can actually write.
func checkOrder(t *testing.T, path string, raw []byte, s map[string]any, defs map[string]any) {
	t.Helper()
	if r, ok := s["$ref"].(string); ok {
		s = defs[strings.TrimPrefix(r, "#/$defs/")].(map[string]any)
	}
	members := orderedMembers(t, raw)
	if alts, ok := s["oneOf"].([]any); ok {
		for _, a := range alts {
			alt := a.(map[string]any)
			tool, _ := alt["properties"].(tools.Props).Lookup("tool")
			if len(members) > 0 && string(members[0].value) == `"`+tool["const"].(string)+`"` {
				checkOrder(t, path, raw, alt, defs)
				return
			}
		}
		t.Errorf("%s: no alternative for %s (is \"tool\" first?)", path, raw)
		return
	}
	props, ok := s["properties"].(tools.Props)
	if !ok {
		return
	}
	required, _ := s["required"].([]string)
	rank := map[string]int{}
	for _, name := range required {
		rank[name] = len(rank)
	}
	for _, p := range props {
		if _, ok := rank[p.Name]; !ok {
			rank[p.Name] = len(rank)
		}
	}
	last := -1
	for _, m := range members {
		r, ok := rank[m.key]
		if !ok {
			t.Errorf("%s.%s is not in the schema", path, m.key)
			continue
		}
		if r < last {
			t.Errorf("%s.%s is out of order: the grammar writes %v", path, m.key, orderOf(rank))
		}
		last = r
		sub, _ := props.Lookup(m.key)
		if bytes.HasPrefix(m.value, []byte("{")) {
			checkOrder(t, path+"."+m.key, m.value, sub, defs)
		}
	}
	for _, name := range required {
		if !hasMember(members, name) {
			t.Errorf("%s lacks required %s", path, name)
		}
	}
}

type member struct {
	key   string
	value json.RawMessage
}

func orderedMembers(t *testing.T, raw []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, member{key: tok.(string), value: v})
	}
	return out
}

func hasMember(ms []member, name string) bool {
	for _, m := range ms {
		if m.key == name {
			return true
		}
	}
	return false
}

func orderOf(rank map[string]int) []string {
	out := make([]string, len(rank))
	for k, r := range rank {
		out[r] = k
	}
	return out
}

// TestExamplesAreNotTheEval keeps the evaluation honest: no few-shot
// request may be one of the eval's (eval/testdata/dev.jsonl, more.jsonl and
// records.jsonl), or nearly so.
func TestExamplesAreNotTheEval(t *testing.T) {
	var eval []string
	for _, path := range []string{"../eval/testdata/dev.jsonl", "../eval/testdata/more.jsonl", "../eval/testdata/records.jsonl"} {
		f, err := os.Open(path)
		if err != nil {
			t.Logf("no eval cases at %s: %v", path, err)
			continue
		}
		n := len(eval)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var c struct {
				Request string `json:"request"`
			}
			if err := json.Unmarshal(sc.Bytes(), &c); err == nil && c.Request != "" {
				eval = append(eval, c.Request)
			}
		}
		f.Close()
		if len(eval) == n {
			t.Errorf("%s holds no requests", path)
		}
	}
	if len(eval) == 0 {
		t.Skip("no eval cases found")
	}
	for _, e := range Examples() {
		for _, d := range eval {
			if sim := similarity(e.Request, d); sim > 0.6 {
				t.Errorf("example %q is too close to eval request %q (%.2f)", e.Request, d, sim)
			}
		}
	}
}

// similarity is the Jaccard index of the two requests' lowercase words.
func similarity(a, b string) float64 {
	words := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		}) {
			m[w] = true
		}
		return m
	}
	wa, wb := words(a), words(b)
	both := 0
	for w := range wa {
		if wb[w] {
			both++
		}
	}
	union := len(wa) + len(wb) - both
	if union == 0 {
		return 1
	}
	return float64(both) / float64(union)
}

func TestParseExamplesRejectsUnknownFields(t *testing.T) {
	if _, err := parseExamples([]byte(`{"request":"x","action":{},"extra":1}`)); err == nil {
		t.Error("an unknown member was accepted")
	}
}
