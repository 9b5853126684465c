package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/carebook/carebook/store"
)

// This file derives two views of the action format from one description:
// ActionSchema, the JSON schema sent as Ollama's `format` so that the
// server's grammar sampler can only produce actions that fit, and
// StaticSchemaDoc, the same format in a few lines of text for the system
// prompt. schema_test.go checks both against the argument structs in
// action.go by reflection, so none of the three can drift.

// Prop is one member of a JSON schema "properties" object.
type Prop struct {
	Name   string
	Schema map[string]any
}

// Props is a JSON schema "properties" object that keeps its order. Ollama
// turns the schema into a grammar (llama.cpp's json-schema-to-grammar), and
// that grammar makes the model write the required members first and then the
// optional ones, each in the order given here. A Go map would be marshalled
// in alphabetical order, which would make the model write "args" before it
// has named the tool.
type Props []Prop

// MarshalJSON writes the members in order.
func (p Props) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.Schema)
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", m.Name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Lookup returns the schema of the member called name.
func (p Props) Lookup(name string) (map[string]any, bool) {
	for _, m := range p {
		if m.Name == name {
			return m.Schema, true
		}
	}
	return nil, false
}

// Keys of the shared definitions in the schema's "$defs". They are short
// because they also name the grammar's rules.
const (
	defQuery   = "query"
	defTag     = "tag"
	defLog     = "log"
	defMessage = "message"
	defPatient = "patient"
	defWhere   = "where"
	defAppt    = "appt"
	defContact = "contact"
	defTagName = "tag_name" // the enum of existing tags
	defUpdate  = "update"
	defConsent = "consent"
	defAddTask = "add_task"
	defDone    = "done"
	defTasks   = "tasks"
)

// argsDef names the definition of each tool's arguments.
var argsDef = map[string]string{
	ToolQuery: defQuery, ToolTag: defTag, ToolUntag: defTag, ToolLogInteraction: defLog,
	ToolClarify: defMessage, ToolRefuse: defMessage,
	ToolUpdatePatient: defUpdate, ToolSetConsent: defConsent, ToolAddTask: defAddTask, ToolCompleteTask: defDone,
}

// Accepted date forms, shown to the model in the schema and in the prompt.
// schema_test.go checks that ParsePoint and ParseRange accept every one.
var (
	DateForms  = []string{"90 days ago"}
	RangeForms = []string{"last 90 days", "next week", "May 2026", "since March 3", "upcoming"}

	dateForms  = "a day: " + quoteAll(DateForms)
	rangeForms = "a time range: " + quoteAll(RangeForms) + ` ("upcoming" is from now on)`
)

func quoteAll(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// field is one member of an object in the action format.
type field struct {
	name   string
	req    bool
	schema map[string]any // nil when the vocabulary is empty: left out of the schema
	doc    string         // the type as StaticSchemaDoc shows it; "" derives it from schema
	desc   string         // what it means, for StaticSchemaDoc
}

// object is one object type of the action format.
type object struct {
	key    string // in $defs
	doc    string // name in StaticSchemaDoc
	desc   string
	fields []field
}

func (o object) schema() map[string]any {
	props := Props{}
	var required []string
	for _, f := range o.fields {
		if f.schema == nil {
			continue
		}
		props = append(props, Prop{Name: f.name, Schema: f.schema})
		if f.req {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str() map[string]any { return map[string]any{"type": "string"} }

func pattern(p string) map[string]any { return map[string]any{"type": "string", "pattern": p} }

func boolean() map[string]any { return map[string]any{"type": "boolean"} }

func intRange(lo, hi int) map[string]any {
	return map[string]any{"type": "integer", "minimum": lo, "maximum": hi}
}

func ref(key string) map[string]any { return map[string]any{"$ref": "#/$defs/" + key} }

func arrayOf(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

func enum(vals []string) map[string]any { return map[string]any{"type": "string", "enum": vals} }

func described(s map[string]any, desc string) map[string]any {
	s["description"] = desc
	return s
}

// vocabEnum is an enum of the names the model is shown (shown), or any
// string when the practice has names (all) but none fit to show, or nil
// (the field is left out) when there are none: no value could pass
// validation.
func vocabEnum(all, shown []string) map[string]any {
	switch {
	case len(shown) > 0:
		return enum(shown)
	case len(all) > 0:
		return str()
	}
	return nil
}

// vocabOrString is an enum of names in use, or any string when there are none.
func vocabOrString(vals []string) map[string]any {
	if len(vals) == 0 {
		return str()
	}
	return enum(vals)
}

// tagPattern is store.ValidTagName's lowercase-kebab, which the grammar
// converter supports.
const tagPattern = `^[a-z0-9]+(-[a-z0-9]+)*$`

// bornPattern admits a birth year and the shapes of the dates the resolver
// reads (bornFilter): 1958, 1958-03-02, 03/02/1958, 3/2/1958, March 2, 1958
// and 2 March 1958, so that the model may copy a date of birth as the user
// wrote it.
const bornPattern = `^([0-9]{4}(-[0-9]{2}-[0-9]{2})?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[A-Za-z]{3,9} [0-9]{1,2},? [0-9]{4}|[0-9]{1,2} [A-Za-z]{3,9} [0-9]{4})$`

func date() map[string]any { return described(str(), dateForms) }

func timeRange() map[string]any { return described(str(), rangeForms) }

// groupExtras are the group_by names that are not a member of the entity's
// row filter (Where for patients, Appointments, Interactions, Tasks): the
// doc names these, and the filters' lines show the others. schema_test.go
// checks that together they are every entity's group fields.
var groupExtras = []string{"tag", "sex", "age_band", "month", "weekday", "kind"}

// groupByFields lists every group_by name, patients' first; Prepare checks
// that the one chosen fits the entity.
func groupByFields() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range Entities {
		for _, g := range GroupFields(e) {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

// objects describes the action format for a vocabulary: the arguments of
// each tool first, then the types they share. Enums hold only the names the
// model is shown (ModelVocabulary).
func objects(v store.Vocabulary) []object {
	shown := ModelVocabulary(v)
	var tagItems map[string]any
	switch {
	case len(shown.Tags) > 0:
		tagItems = arrayOf(ref(defTagName))
	case len(v.Tags) > 0:
		tagItems = arrayOf(pattern(tagPattern))
	}
	patient := field{name: "patient", schema: ref(defPatient)}
	where := field{name: "where", schema: ref(defWhere)}
	groups := "with groups: the entity's filter members, " + strings.Join(groupExtras, ", ")
	return []object{
		{key: defQuery, doc: ToolQuery, fields: []field{
			{name: "entity", req: true, schema: enum(Entities)},
			patient, where,
			{name: "appointments", schema: ref(defAppt), desc: "only with that entity"},
			{name: "interactions", schema: ref(defContact), desc: "only with that entity"},
			{name: "tasks", schema: ref(defTasks), desc: "only with that entity"},
			{name: "output", schema: enum(Outputs)},
			{name: "group_by", schema: enum(groupByFields()), doc: "-", desc: groups},
			{name: "limit", schema: intRange(1, 1000)},
		}},
		{key: defTag, doc: ToolTag + ", " + ToolUntag, fields: []field{
			{name: "tag", req: true, schema: pattern(tagPattern)},
			patient, where,
		}},
		{key: defLog, doc: ToolLogInteraction, fields: []field{
			{name: "channel", req: true, schema: enum(stringsOf(store.Channels)), doc: "Channel"},
			{name: "summary", req: true, schema: str()},
			patient, where,
			{name: "direction", schema: enum(stringsOf(store.Directions))},
			{name: "at", schema: date(), doc: "Date"},
			{name: "staff", schema: str()},
		}},
		{key: defUpdate, doc: ToolUpdatePatient, fields: []field{
			{name: "patient", req: true, schema: ref(defPatient)},
			{name: "email", schema: str()},
			{name: "phone", schema: str()},
			{name: "city", schema: str()},
			{name: "language", schema: str()},
			{name: "status", schema: enum(stringsOf(store.Statuses))},
		}},
		{key: defConsent, doc: ToolSetConsent, fields: []field{
			{name: "patient", req: true, schema: ref(defPatient)},
			{name: "marketing", req: true, schema: boolean()},
			{name: "source", req: true, schema: enum(stringsOf(store.StaffSources))},
			{name: "at", schema: date(), doc: "Date"},
		}},
		{key: defAddTask, doc: ToolAddTask, fields: []field{
			{name: "text", req: true, schema: str()},
			patient, where,
			{name: "due", schema: described(str(), "a day: "+quoteAll(DueForms)+" or a Date"), doc: "Date"},
			{name: "assign_to", schema: str()},
		}},
		{key: defDone, doc: ToolCompleteTask, fields: []field{
			{name: "patient", schema: ref(defPatient)},
			{name: "task", schema: str(), desc: "words of it"},
			{name: "id", schema: intRange(1, 1<<31-1)},
			{name: "channel", schema: enum(stringsOf(store.Channels)), doc: "Channel", desc: "with summary, also logs it"},
			{name: "summary", schema: str()},
		}},
		{key: defMessage, doc: ToolClarify + ", " + ToolRefuse, fields: []field{
			{name: "message", req: true, schema: str()},
		}},
		{key: defPatient, doc: "Patient", fields: []field{
			{name: "match", req: true, schema: str(), desc: "name, MRN or email"},
			{name: "born", schema: pattern(bornPattern)},
		}},
		{key: defWhere, doc: "Where", fields: []field{
			{name: "mrns", schema: arrayOf(str()), doc: "-"},
			{name: "name", schema: str()},
			{name: "email", schema: str()},
			{name: "phone_contains", schema: pattern(`^[0-9]+$`)},
			{name: "phone_ends_with", schema: pattern(`^[0-9]+$`)},
			{name: "has_email", schema: boolean()},
			{name: "has_phone", schema: boolean()},
			{name: "marketing_consent", schema: boolean()},
			{name: "has_open_task", schema: boolean()},
			{name: "tags", schema: tagItems, doc: "Tag[]"},
			{name: "tags_any", schema: tagItems, doc: "Tag[]"},
			{name: "tags_none", schema: tagItems, doc: "Tag[]"},
			{name: "older_than", schema: intRange(0, 130)},
			{name: "younger_than", schema: intRange(0, 130)},
			{name: "age_at_least", schema: intRange(0, 130)},
			{name: "age_at_most", schema: intRange(0, 130)},
			{name: "birthday_month", schema: intRange(1, 12), doc: "1-12"},
			{name: "status", schema: enum(stringsOf(store.Statuses))},
			{name: "city", schema: vocabOrString(shown.Cities), doc: "City"},
			{name: "language", schema: vocabOrString(shown.Languages), doc: "Language"},
			{name: "last_visit_before", schema: date(), doc: "Date"},
			{name: "last_visit_after", schema: date(), doc: "Date"},
			{name: "has_appointment", schema: ref(defAppt)},
			{name: "no_appointment", schema: ref(defAppt)},
			{name: "has_interaction", schema: ref(defContact)},
			{name: "no_interaction", schema: ref(defContact)},
		}},
		{key: defAppt, doc: "Appointments", fields: []field{
			{name: "status", schema: enum(stringsOf(store.AppointmentStatuses))},
			{name: "type", schema: vocabEnum(v.AppointmentTypes, shown.AppointmentTypes), doc: "Type"},
			{name: "provider", schema: vocabEnum(v.Providers, shown.Providers), doc: "Provider"},
			{name: "when", schema: timeRange(), doc: "Range"},
		}},
		{key: defContact, doc: "Interactions", fields: []field{
			{name: "channel", schema: enum(stringsOf(store.Channels)), doc: "Channel"},
			{name: "direction", schema: enum(stringsOf(store.Directions))},
			{name: "staff", schema: str(), desc: "contains; the name alone"},
			{name: "when", schema: timeRange(), doc: "Range"},
		}},
		{key: defTasks, doc: "Tasks", fields: []field{
			{name: "status", schema: enum([]string{TaskOpen, TaskDone})},
			{name: "due", schema: timeRange(), doc: "Range"},
			{name: "assigned_to", schema: str()},
			{name: "overdue", schema: boolean()},
			{name: "mine", schema: boolean()},
		}},
	}
}

// ActionSchema is the JSON schema of one action, for Ollama's `format`: a
// union with one alternative per tool, each {"tool": <const>, "args": {…}}.
// Field names, operators, channels and statuses are enums; so are the tags
// a filter may name, the providers and appointment types, and the cities and
// languages while they are few, all taken from v, keeping only the values
// that look like names (ModelVocabulary). Members a vocabulary cannot fill
// (no tags yet) are left out. The schema narrows what the model can write;
// it is no security boundary, and Prepare still checks everything.
func ActionSchema(v store.Vocabulary) map[string]any {
	defs := map[string]any{}
	for _, o := range objects(v) {
		defs[o.key] = o.schema()
	}
	if tags := ModelVocabulary(v).Tags; len(tags) > 0 {
		defs[defTagName] = enum(tags)
	}
	alts := make([]any, 0, len(ModelTools))
	for _, name := range ModelTools {
		alts = append(alts, map[string]any{
			"type": "object",
			"properties": Props{
				{Name: "tool", Schema: map[string]any{"const": name}},
				{Name: "args", Schema: ref(argsDef[name])},
			},
			"required":             []string{"tool", "args"},
			"additionalProperties": false,
		})
	}
	return map[string]any{"oneOf": alts, "$defs": defs}
}

// StaticSchemaDoc describes the action format in compact text for the system
// prompt: one line per object, its members in the order the grammar makes
// the model write them. It leaves the vocabulary out (it names Tag, Provider
// and so on, which the request lists), so it is the same bytes on every
// request and Ollama can reuse its cache of the prompt prefix. Every token
// is paid on a cold cache, so members of one type and meaning share an entry,
// their names separated by spaces alone ("has_email has_phone: bool"), a
// plain string or number shows no type, nor does a member named after its
// type ("patient", "where", "channel", "city"), and what the grammar enforces
// anyway (which members are required) is not spelled out.
func StaticSchemaDoc() string { return staticDoc() }

var staticDoc = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString("Actions:\n")
	for _, o := range objects(store.Vocabulary{}) {
		b.WriteString(o.doc)
		if o.desc != "" {
			b.WriteString(" (" + o.desc + ")")
		}
		b.WriteString(": ")
		for i := 0; i < len(o.fields); {
			f := o.fields[i]
			names := []string{f.name}
			for i++; i < len(o.fields) && docType(o.fields[i]) == docType(f) && o.fields[i].desc == f.desc; i++ {
				names = append(names, o.fields[i].name)
			}
			b.WriteString(strings.Join(names, " "))
			if t := docType(f); t != "" {
				b.WriteString(": " + t)
			}
			if f.desc != "" {
				b.WriteString(" (" + f.desc + ")")
			}
			if i < len(o.fields) {
				b.WriteString("; ")
			}
		}
		b.WriteByte('\n')
	}
	b.WriteString("Channel: " + schemaDocType(enum(stringsOf(store.Channels))) + "\n")
	b.WriteString("Date: " + strings.Join(DateForms, ", ") + ". Range: " + strings.Join(RangeForms, ", ") + "\n")
	b.WriteString(`Tag, Provider, Type, City, Language: from the request's lists ("asthmatic": asthma; "X-speaking": language X, not a tag)` + "\n")
	return b.String()
})

var docNames = func() map[string]string {
	m := map[string]string{}
	for _, o := range objects(store.Vocabulary{}) {
		m[o.key] = o.doc
	}
	return m
}()

// docType is a member's type as StaticSchemaDoc shows it: an enum's values
// (a|b, JSON strings all), the name of an object or of a list of names,
// "bool", "string[]", or "" for a plain string or number and for a member
// named after its type (field.doc "-" hides an enum too long to show, or a
// list whose name says it is one).
func docType(f field) string {
	t := f.doc
	switch t {
	case "-":
		return ""
	case "":
		t = schemaDocType(f.schema)
	}
	if strings.EqualFold(t, f.name) {
		return ""
	}
	return t
}

func schemaDocType(s map[string]any) string {
	if r, ok := s["$ref"].(string); ok {
		return docNames[strings.TrimPrefix(r, "#/$defs/")]
	}
	if vals, ok := s["enum"].([]string); ok {
		return strings.Join(vals, "|")
	}
	switch s["type"] {
	case "array":
		if item := schemaDocType(s["items"].(map[string]any)); item != "" {
			return item + "[]"
		}
		return "string[]"
	case "boolean":
		return "bool"
	}
	return ""
}
