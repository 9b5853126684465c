package runcmd

import "testing"

func TestSplitID(t *testing.T) {
	for _, tc := range []struct{ in, action, id string }{
		{`{"id": "dev-02", "action": {"tool": "query", "args": {}}}`, `{"tool": "query", "args": {}}`, "dev-02"},
		{`{"tool":"query","args":{},"id":"a"}`, `{"tool":"query","args":{}}`, "a"},
		{`{"id":7, "tool":"query","args":{}}`, `{"tool":"query","args":{}}`, "7"},
		{`{"tool":"query", "id":"m", "args":{}}`, `{"tool":"query", "args":{}}`, "m"},
		{`{"action": {"tool":"query"}}`, `{"tool":"query"}`, ""},
		{`{"tool":"query","args":{}}`, `{"tool":"query","args":{}}`, ""},
		// Anything else is handed on as written, for the backend to refuse.
		{`{"id":"x"}`, `{}`, "x"},
		{`{"id":{"a":1},"tool":"query"}`, `{"id":{"a":1},"tool":"query"}`, ""},
		{`{"tool":"query","tool":"tag","id":"d"}`, `{"tool":"query","tool":"tag"}`, "d"},
		{`not json`, `not json`, ""},
		{`["id"]`, `["id"]`, ""},
		{`{"id":"x",`, `{"id":"x",`, ""},
	} {
		action, id := splitID(tc.in)
		if action != tc.action || id != tc.id {
			t.Errorf("splitID(%s) = %s, %q; want %s, %q", tc.in, action, id, tc.action, tc.id)
		}
	}
}
