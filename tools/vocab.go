package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/carebook/carebook/store"
)

// The vocabulary (tags, providers, appointment types, cities, languages,
// staff) is the practice's data, and much of it was imported from CSV files
// that patients' own forms filled: a city can hold a sentence addressed to
// the model. So the model is shown only the values that look like names,
// and a list only while it is short enough to help. The validator reads the
// whole vocabulary from the database and still accepts any value that
// exists, when a user types it or a batch names it.

const (
	// maxListed is the longest list of cities, languages or staff the model
	// is shown. A longer list costs prompt on every request and helps
	// little: the validator maps what the user wrote onto the known names,
	// and suggests the nearest when it finds none.
	maxListed = 15
	// A name is at most this long, in characters and in words (split at
	// spaces and hyphens): "Dr. Maria de la Cruz-Hernández" fits, a
	// sentence does not.
	maxNameRunes = 40
	maxNameWords = 6
	// maxSuggestions is how many near names a "did you mean" offers.
	maxSuggestions = 3
)

// NameLike reports whether a vocabulary value looks like a name rather than
// text: at most 40 characters and 6 words, of letters, digits, spaces and
// . - ' ’ / & ( ). Commas, colons, quotes and line breaks, which text
// addressed to a reader needs and names do not, are out.
func NameLike(s string) bool {
	if s == "" || s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > maxNameRunes {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !strings.ContainsRune(" .-'’/&()", r) {
			return false
		}
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' })
	return len(words) <= maxNameWords
}

// nameLike keeps the values of vals that look like names.
func nameLike(vals []string) []string {
	var out []string
	for _, v := range vals {
		if NameLike(v) {
			out = append(out, v)
		}
	}
	return out
}

// ModelVocabulary is the part of v the model is shown, in the request turn
// and in the schema's enums: the values of each list that look like names;
// of cities, languages and staff, none when there are more than 15 of them.
// Tags, providers and appointment types are always listed: they are few, and
// the model must name them exactly.
func ModelVocabulary(v store.Vocabulary) store.Vocabulary {
	few := func(vals []string) []string {
		if names := nameLike(vals); len(names) <= maxListed {
			return names
		}
		return nil
	}
	return store.Vocabulary{
		Tags:             nameLike(v.Tags),
		Providers:        nameLike(v.Providers),
		AppointmentTypes: nameLike(v.AppointmentTypes),
		Cities:           few(v.Cities),
		Languages:        few(v.Languages),
		Staff:            few(v.Staff),
	}
}

// foldName is how names compare when looking for near ones: case and
// accents ignored, as the store's filters compare them
// (strip_accents(lower(…))), and spaces collapsed.
func foldName(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(strings.Join(strings.Fields(out), " "))
}

// knownName finds what was written for a city or language among the
// patients' records, matched as the filters match (case and accents
// ignored), and returns it as the records spell it. A miss is a
// ValidationError that offers the nearest names, which the agent hands back
// to the model for its retry; only a miss reads the whole list.
func knownName(ctx context.Context, r store.Reader, field store.PatientField, written string) (string, error) {
	written = strings.TrimSpace(written)
	name, err := r.PatientValue(ctx, field, written)
	if err != nil || name != "" {
		return name, err
	}
	part := store.VocabCities
	if field == store.FieldLanguage {
		part = store.VocabLanguages
	}
	v, err := r.Vocabulary(ctx, part)
	if err != nil {
		return "", err
	}
	if near := nearNames(foldName(written), slices.Concat(v.Cities, v.Languages)); len(near) > 0 {
		return "", invalidf("there is no %s %q among the patients; did you mean %s?", field, written, orList(near))
	}
	return "", invalidf("there is no %s %q among the patients; check the spelling, or leave %s out", field, written, field)
}

// nearNames are the known names within a small edit distance of key (a
// folded name): a quarter of its length, at least 1. Only names fit for the
// model are offered, as the message may go back to it.
func nearNames(key string, known []string) []string {
	n := utf8.RuneCountInString(key)
	if n == 0 || n > 2*maxNameRunes {
		return nil
	}
	limit := max(1, n/4)
	type near struct {
		name string
		d    int
	}
	var found []near
	for _, k := range known {
		if !NameLike(k) {
			continue
		}
		fk := foldName(k)
		// The distance is at least the difference in length: skip the
		// computation when that alone is too far.
		if abs(utf8.RuneCountInString(fk)-n) > limit {
			continue
		}
		if d := editDistance(key, fk); d <= limit {
			found = append(found, near{k, d})
		}
	}
	slices.SortFunc(found, func(a, b near) int {
		return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.name, b.name))
	})
	var out []string
	for _, f := range found[:min(len(found), maxSuggestions)] {
		out = append(out, f.name)
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the optimal string alignment distance between a and b,
// in runes: insertions, deletions, substitutions and swaps of two adjacent
// letters ("Sprignfield") each count one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the dynamic programme: two back for swaps.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// orList quotes names and joins them: "A", "B" or "C".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
