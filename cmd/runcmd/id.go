package runcmd

import (
	"encoding/json"
	"strings"
)

// splitID takes a .jsonl line's "id" out of it and hands on the action
// exactly as written, byte for byte, so that the backend parses it as
// strictly as any other line (a bad action is refused and audited as it
// was). The line is {"id": …, "tool": …, "args": …}, or {"id": …,
// "action": {…}} as the eval files have it. A line that is not a JSON
// object is handed on whole, for the backend to refuse.
func splitID(line string) (action, id string) {
	type member struct {
		key string
		// keyStart is where the key's quote is; end is after the value.
		keyStart, end int
		value         json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return line, ""
	}
	var members []member
	for dec.More() {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return line, ""
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return line, ""
		}
		keyStart := start + strings.IndexByte(line[start:], '"')
		members = append(members, member{key: key, keyStart: keyStart, end: int(dec.InputOffset()), value: value})
	}
	at := -1
	for i, m := range members {
		if m.key == "id" {
			at = i
			break
		}
	}
	if at >= 0 {
		var s string
		switch v := members[at].value; {
		case json.Unmarshal(v, &s) == nil:
			id = s
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			id = string(v)
		default:
			return line, "" // an id that is not a string or a number: the backend says so
		}
		switch {
		case at < len(members)-1:
			line = line[:members[at].keyStart] + line[members[at+1].keyStart:]
		case at > 0:
			line = line[:members[at-1].end] + line[members[at].end:]
		default:
			line = line[:members[at].keyStart] + line[members[at].end:]
		}
		members = append(members[:at], members[at+1:]...)
	}
	if len(members) == 1 && members[0].key == "action" {
		return string(members[0].value), id
	}
	return line, id
}
