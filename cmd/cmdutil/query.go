package cmdutil

import (
	"context"
	"io"
	"strings"

	"github.com/carebook/carebook/backend"
	"github.com/carebook/carebook/tools"
)

// Query runs a plain command's listing as the query action a model would
// send, on the CLI channel: the same validation, preparation and audit row
// either way. The result is never nil.
func Query(ctx context.Context, backendOf func(context.Context) (backend.Backend, error), args tools.QueryArgs) (*tools.ResultJSON, error) {
	action, err := tools.NewAction(tools.ToolQuery, args)
	if err != nil {
		return nil, err
	}
	b, err := backendOf(ctx)
	if err != nil {
		return nil, err
	}
	reply, err := b.Prepare(ctx, backend.PrepareRequest{Channel: ChannelCLI, Action: action})
	if err != nil {
		return nil, err
	}
	if reply.Result == nil {
		return &tools.ResultJSON{}, nil
	}
	return reply.Result, nil
}

// WriteJSONList writes a listing for --json: an empty one is [], never
// null, so that scripts can iterate without a check.
func WriteJSONList[T any](w io.Writer, list []T) error {
	if list == nil {
		list = []T{}
	}
	return WriteJSON(w, list)
}

// Values lists a closed set of values, for a flag's help and its errors.
func Values[T ~string](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
