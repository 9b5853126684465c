package tools

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebook/carebook/store"
)

// schemaVocab fills every vocabulary list, so that no member is left out.
func schemaVocab() store.Vocabulary {
	return store.Vocabulary{
		Tags:             []string{"diabetes", "hypertension", "newsletter", "recall-due", "refill-overdue", "vip"},
		Providers:        []string{"Dr. Alvarez", "Dr. Kim", "Dr. Okafor"},
		AppointmentTypes: []string{"annual-physical", "follow-up", "new-patient"},
		Cities:           []string{"Lakeside", "Riverton"},
		Languages:        []string{"English", "Polish", "Spanish"},
		Staff:            []string{"front desk (Ben)", "nurse (Carla)"},
	}
}

// defTypes names the struct each definition of the schema must match.
var defTypes = map[string]reflect.Type{
	defQuery:   reflect.TypeFor[QueryArgs](),
	defTag:     reflect.TypeFor[TagArgs](),
	defLog:     reflect.TypeFor[LogArgs](),
	defMessage: reflect.TypeFor[MessageArgs](),
	defPatient: reflect.TypeFor[PatientRef](),
	defWhere:   reflect.TypeFor[PatientWhere](),
	defAppt:    reflect.TypeFor[AppointmentWhere](),
	defContact: reflect.TypeFor[InteractionWhere](),
	defUpdate:  reflect.TypeFor[UpdatePatientArgs](),
	defConsent: reflect.TypeFor[ConsentArgs](),
	defAddTask: reflect.TypeFor[AddTaskArgs](),
	defDone:    reflect.TypeFor[CompleteTaskArgs](),
	defTasks:   reflect.TypeFor[TaskWhere](),
}

func defOfType(t reflect.Type) string {
	for k, dt := range defTypes {
		if dt == t {
			return k
		}
	}
	return ""
}

func schemaDefs(t *testing.T, s map[string]any) map[string]any {
	t.Helper()
	defs, ok := s["$defs"].(map[string]any)
	if !ok {
		t.Fatalf("schema has no $defs")
	}
	return defs
}

func props(t *testing.T, obj map[string]any) Props {
	t.Helper()
	p, ok := obj["properties"].(Props)
	if !ok {
		t.Fatalf("object without ordered properties: %v", obj)
	}
	return p
}

func resolve(t *testing.T, defs map[string]any, s map[string]any) map[string]any {
	t.Helper()
	if r, ok := s["$ref"].(string); ok {
		d, ok := defs[strings.TrimPrefix(r, "#/$defs/")].(map[string]any)
		if !ok {
			t.Fatalf("dangling reference %s", r)
		}
		return d
	}
	return s
}

// TestSchemaMatchesStructs checks, by reflection over the json tags, that
// every definition has exactly the members of its struct, with fitting
// types, and that the union has one alternative per tool.
func TestSchemaMatchesStructs(t *testing.T) {
	s := ActionSchema(schemaVocab())
	defs := schemaDefs(t, s)
	for key := range defs {
		if _, ok := defTypes[key]; !ok && key != defTagName {
			t.Errorf("$defs.%s has no struct in defTypes", key)
		}
	}
	for key, typ := range defTypes {
		t.Run(key, func(t *testing.T) {
			def, ok := defs[key].(map[string]any)
			if !ok {
				t.Fatalf("no $defs.%s", key)
			}
			if def["additionalProperties"] != false {
				t.Errorf("additionalProperties is not false")
			}
			p := props(t, def)
			var schemaNames, structNames []string
			for _, m := range p {
				schemaNames = append(schemaNames, m.Name)
			}
			for _, f := range jsonFields(typ) {
				structNames = append(structNames, f.name)
				ps, ok := p.Lookup(f.name)
				if !ok {
					t.Errorf("%s.%s is not in the schema", typ.Name(), f.name)
					continue
				}
				checkKind(t, defs, f, ps)
			}
			for _, n := range schemaNames {
				if !slices.Contains(structNames, n) {
					t.Errorf("schema member %s is not a field of %s", n, typ.Name())
				}
			}
			req, _ := def["required"].([]string)
			for _, r := range req {
				if !slices.Contains(schemaNames, r) {
					t.Errorf("required %s is not a member", r)
				}
			}
		})
	}

	alts, ok := s["oneOf"].([]any)
	if !ok || len(alts) != len(ModelTools) {
		t.Fatalf("oneOf has %d alternatives, want one per tool (%d)", len(alts), len(ModelTools))
	}
	for i, a := range alts {
		alt := a.(map[string]any)
		p := props(t, alt)
		if len(p) != 2 || p[0].Name != "tool" || p[1].Name != "args" {
			t.Fatalf("alternative %d members = %v, want tool then args", i, p)
		}
		if got := p[0].Schema["const"]; got != ModelTools[i] {
			t.Errorf("alternative %d tool = %v, want %s", i, got, ModelTools[i])
		}
		if got := p[1].Schema["$ref"]; got != "#/$defs/"+argsDef[ModelTools[i]] {
			t.Errorf("%s args = %v", ModelTools[i], got)
		}
		if alt["additionalProperties"] != false || !slices.Equal(alt["required"].([]string), []string{"tool", "args"}) {
			t.Errorf("%s: want required tool and args and no other members", ModelTools[i])
		}
	}
}

// checkKind checks that a member's schema fits its Go field's type.
func checkKind(t *testing.T, defs map[string]any, f jsonField, s map[string]any) {
	t.Helper()
	typ := f.typ
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Struct {
		want := "#/$defs/" + defOfType(typ)
		if s["$ref"] != want {
			t.Errorf("%s: $ref = %v, want %s", f.name, s["$ref"], want)
		}
		return
	}
	want := map[reflect.Kind]string{reflect.String: "string", reflect.Int: "integer", reflect.Int64: "integer", reflect.Bool: "boolean", reflect.Slice: "array"}[typ.Kind()]
	if got := s["type"]; got != want {
		t.Errorf("%s: type %v, want %s", f.name, got, want)
	}
	if typ.Kind() == reflect.Slice {
		items := resolve(t, defs, s["items"].(map[string]any))
		if items["type"] != "string" {
			t.Errorf("%s: items of type %v, want string", f.name, items["type"])
		}
	}
}

// sample builds an instance of s that sets every member, so that decoding
// it strictly proves each one has a struct field to land in.
func sample(t *testing.T, defs map[string]any, s map[string]any) any {
	t.Helper()
	s = resolve(t, defs, s)
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]string); ok {
		return e[len(e)-1]
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		for _, m := range props(t, s) {
			out[m.Name] = sample(t, defs, m.Schema)
		}
		return out
	case "array":
		return []any{sample(t, defs, s["items"].(map[string]any))}
	case "integer":
		return max(s["minimum"].(int), 1)
	case "boolean":
		return true
	case "string":
		switch s["pattern"] {
		case nil:
			return "x"
		case tagPattern:
			return "recall-due"
		case `^[0-9]+$`:
			return "1234"
		case bornPattern:
			return "1975-09-30"
		}
		t.Fatalf("no sample for pattern %v", s["pattern"])
	}
	t.Fatalf("no sample for schema %v", s)
	return nil
}

func TestSchemaSamplesDecode(t *testing.T) {
	s := ActionSchema(schemaVocab())
	defs := schemaDefs(t, s)
	for i, a := range s["oneOf"].([]any) {
		tool := ModelTools[i]
		t.Run(tool, func(t *testing.T) {
			raw, err := json.Marshal(sample(t, defs, a.(map[string]any)))
			if err != nil {
				t.Fatal(err)
			}
			action, err := ParseAction(raw)
			if err != nil {
				t.Fatalf("ParseAction(%s): %v", raw, err)
			}
			if action.Tool != tool {
				t.Fatalf("tool = %q, want %q", action.Tool, tool)
			}
			args := reflect.New(defTypes[argsDef[tool]])
			if err := decodeArgs(action, args.Interface()); err != nil {
				t.Fatalf("decode %s: %v", raw, err)
			}
			// Nothing set in the sample may be lost on the way in.
			back, err := json.Marshal(args.Interface())
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			json.Unmarshal(action.Args, &want)
			json.Unmarshal(back, &got)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip lost members:\n sample %s\n struct %s", action.Args, back)
			}
		})
	}
}

func TestSchemaVocabulary(t *testing.T) {
	v := schemaVocab()
	defs := schemaDefs(t, ActionSchema(v))
	if got := defs[defTagName].(map[string]any)["enum"]; !reflect.DeepEqual(got, v.Tags) {
		t.Errorf("tag enum = %v, want %v", got, v.Tags)
	}
	where := props(t, defs[defWhere].(map[string]any))
	for _, name := range []string{"tags", "tags_any", "tags_none"} {
		p, _ := where.Lookup(name)
		if p["items"].(map[string]any)["$ref"] != "#/$defs/"+defTagName {
			t.Errorf("%s items are not the tag enum: %v", name, p)
		}
	}
	city, _ := where.Lookup("city")
	if !reflect.DeepEqual(city["enum"], v.Cities) {
		t.Errorf("city = %v", city)
	}
	appt := props(t, defs[defAppt].(map[string]any))
	if p, _ := appt.Lookup("provider"); !reflect.DeepEqual(p["enum"], v.Providers) {
		t.Errorf("provider = %v", p)
	}
	if p, _ := appt.Lookup("type"); !reflect.DeepEqual(p["enum"], v.AppointmentTypes) {
		t.Errorf("type = %v", p)
	}
	tag := props(t, defs[defTag].(map[string]any))
	if p, _ := tag.Lookup("tag"); p["pattern"] != tagPattern || p["enum"] != nil {
		t.Errorf("the tag to add must be any lowercase-kebab name: %v", p)
	}

	t.Run("empty", func(t *testing.T) {
		defs := schemaDefs(t, ActionSchema(store.Vocabulary{}))
		if _, ok := defs[defTagName]; ok {
			t.Errorf("tag enum present with no tags")
		}
		where := props(t, defs[defWhere].(map[string]any))
		for _, name := range []string{"tags", "tags_any", "tags_none"} {
			if _, ok := where.Lookup(name); ok {
				t.Errorf("%s present with no tags", name)
			}
		}
		if city, _ := where.Lookup("city"); city["type"] != "string" || city["enum"] != nil {
			t.Errorf("city with no cities = %v, want any string", city)
		}
		appt := props(t, defs[defAppt].(map[string]any))
		for _, name := range []string{"provider", "type"} {
			if _, ok := appt.Lookup(name); ok {
				t.Errorf("%s present with an empty vocabulary", name)
			}
		}
		raw, err := json.Marshal(ActionSchema(store.Vocabulary{}))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(`"enum":[]`)) || bytes.Contains(raw, []byte(`"enum":null`)) {
			t.Errorf("empty enum in %s", raw)
		}
	})
}

// TestSchemaOrder checks what the grammar converter relies on: members are
// marshalled in order, the tool before its args, and required members come
// first, so that the order StaticSchemaDoc shows is the order the grammar
// makes the model write.
func TestSchemaOrder(t *testing.T) {
	s := ActionSchema(schemaVocab())
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ModelTools {
		alt := `{"additionalProperties":false,"properties":{"tool":{"const":"` + name + `"},"args":{"$ref":"#/$defs/` + argsDef[name] + `"}}`
		if !bytes.Contains(raw, []byte(alt)) {
			t.Errorf("alternative for %s not marshalled as %s", name, alt)
		}
	}
	for key, d := range schemaDefs(t, s) {
		def := d.(map[string]any)
		if def["type"] != "object" {
			continue
		}
		req, _ := def["required"].([]string)
		for i, m := range props(t, def)[:len(req)] {
			if m.Name != req[i] {
				t.Errorf("%s: required members must come first, in order: %v", key, req)
			}
		}
	}
}

func TestSchemaIsCompact(t *testing.T) {
	raw, err := json.Marshal(ActionSchema(schemaVocab()))
	if err != nil {
		t.Fatal(err)
	}
	// Ollama converts the schema to a grammar in a buffer of 32 KiB, or four
	// times the schema's size if that is more, and cuts off a grammar that is
	// longer. With the shared definitions the grammar is about 3.4 times the
	// schema (measured with llama.cpp's converter): keep well inside.
	if len(raw) > 8<<10 {
		t.Errorf("schema is %d bytes; keep it under 8 KiB", len(raw))
	}
	t.Logf("schema: %d bytes", len(raw))
}

func TestStaticSchemaDoc(t *testing.T) {
	doc := StaticSchemaDoc()
	if doc != StaticSchemaDoc() {
		t.Fatal("StaticSchemaDoc changes between calls")
	}
	// Every object's line lists its struct's members, all of them, in the
	// order the grammar makes the model write them: the required ones
	// first, then the others in schema order.
	members := docMembers(t, doc)
	defs := schemaDefs(t, ActionSchema(schemaVocab()))
	for key, typ := range defTypes {
		def := defs[key].(map[string]any)
		want, _ := def["required"].([]string)
		want = slices.Clone(want)
		for _, p := range props(t, def) {
			if !slices.Contains(want, p.Name) {
				want = append(want, p.Name)
			}
		}
		if got := members[key]; !slices.Equal(got, want) {
			t.Errorf("doc lists %s as %v, want %v", key, got, want)
		}
		if len(want) != len(jsonFields(typ)) {
			t.Errorf("%s: the schema has %d members, the struct %d", key, len(want), len(jsonFields(typ)))
		}
	}
	for _, name := range ModelTools {
		if !strings.Contains(doc, name) {
			t.Errorf("doc does not name tool %s", name)
		}
	}
	// A member named after its type shows no type ("patient", not
	// "patient: Patient"): the name says it, and the type's line follows.
	for _, m := range regexp.MustCompile(`(\w+): (\w+)`).FindAllStringSubmatch(doc, -1) {
		if strings.EqualFold(m[1], m[2]) {
			t.Errorf("doc spells out %q; the name says the type", m[0])
		}
	}
	v := schemaVocab()
	for _, vals := range [][]string{v.Tags, v.Providers, v.AppointmentTypes, v.Cities, v.Languages} {
		for _, val := range vals {
			if strings.Contains(doc, val) {
				t.Errorf("doc holds the vocabulary value %q; it must not vary", val)
			}
		}
	}
	// Each token is paid on a cold cache (the static prompt's budget is
	// 1,200 Qwen3 tokens in all, bench.StaticPromptTokenBudget).
	if len(doc) > 2400 {
		t.Errorf("doc is %d characters; keep it compact", len(doc))
	}
	t.Logf("doc: %d characters\n%s", len(doc), doc)
}

// docMembers reads StaticSchemaDoc's line for each object ("Where: mrns name
// email; phone_contains phone_ends_with; has_email has_phone …: bool; …")
// back into its members' names, by $defs key.
func docMembers(t *testing.T, doc string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range objects(store.Vocabulary{}) {
		head := o.doc
		if o.desc != "" {
			head += " (" + o.desc + ")"
		}
		var line string
		for _, l := range strings.Split(doc, "\n") {
			if rest, ok := strings.CutPrefix(l, head+": "); ok {
				line = rest
			}
		}
		if line == "" {
			t.Errorf("doc has no line for %s", o.doc)
			continue
		}
		for _, m := range splitOutside(line, "; ") {
			m, _, _ = strings.Cut(m, " (")
			m, _, _ = strings.Cut(m, ": ")
			out[o.key] = append(out[o.key], strings.Fields(m)...)
		}
	}
	return out
}

// splitOutside splits s at sep where sep is not inside parentheses.
func splitOutside(s, sep string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '(':
			depth++
		case s[i] == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// The doc tells the model group_by is one of the entity's filter members or
// one of groupExtras: that must name every entity's group fields, and each
// extra must be one.
func TestGroupByDoc(t *testing.T) {
	filters := map[string]string{EntityPatients: defWhere, EntityAppointments: defAppt, EntityInteractions: defContact, EntityTasks: defTasks}
	members := docMembers(t, StaticSchemaDoc())
	used := map[string]bool{}
	for _, e := range Entities {
		def, ok := filters[e]
		if !ok {
			t.Errorf("entity %s has no row filter in the test's table", e)
			continue
		}
		for _, g := range GroupFields(e) {
			used[g] = true
			if !slices.Contains(members[def], g) && !slices.Contains(groupExtras, g) {
				t.Errorf("%s can group by %s, which the doc neither lists nor shows in %s", e, g, docNames[def])
			}
		}
	}
	for _, g := range groupExtras {
		if !used[g] {
			t.Errorf("the doc offers group_by %s, which no entity has", g)
		}
	}
	if !strings.Contains(StaticSchemaDoc(), strings.Join(groupExtras, ", ")) {
		t.Errorf("the doc does not list the extra group_by names")
	}
}

func TestDateFormsParse(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	for _, f := range DateForms {
		if _, err := ParsePoint(f, now); err != nil {
			t.Errorf("ParsePoint(%q), a form the model is shown: %v", f, err)
		}
	}
	for _, f := range RangeForms {
		if _, err := ParseRange(f, now); err != nil {
			t.Errorf("ParseRange(%q), a form the model is shown: %v", f, err)
		}
	}
}

// A date of birth the schema lets the model write is one the resolver reads,
// and the other way round for the numeric forms staff type (issue 15 #6:
// "born 3/2/1958" was refused by the schema while the resolver read
// 03/02/1958).
func TestBornPatternMatchesResolver(t *testing.T) {
	re := regexp.MustCompile(bornPattern)
	for _, s := range []string{"1958", "1958-03-02", "03/02/1958", "3/2/1958", "12/17/1943",
		"December 17 1943", "December 17, 1943", "Dec 17 1943", "17 December 1943", "march 2, 1958"} {
		if !re.MatchString(s) {
			t.Errorf("the schema refuses born %q", s)
		}
		if _, err := bornFilter(s); err != nil {
			t.Errorf("the resolver refuses born %q: %v", s, err)
		}
	}
	for _, s := range []string{"58", "3/2/58", "1958-3-2", "March 2nd 1958", "1958/03/02", "19580302", "born in March"} {
		if re.MatchString(s) {
			t.Errorf("the schema admits born %q", s)
		}
	}
	// Shapes the pattern admits but no calendar has.
	for _, s := range []string{"2/30/1958", "13/02/1958", "1958-02-30", "Smarch 2 1958"} {
		if _, err := bornFilter(s); err == nil {
			t.Errorf("the resolver reads born %q", s)
		}
	}
}
