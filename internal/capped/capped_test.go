package capped

import "testing"

func TestBuffer(t *testing.T) {
	for _, c := range []struct {
		name   string
		limit  int
		writes []string
		want   string
	}{
		{"under", 10, []string{"abc", "de"}, "abcde"},
		{"exactly", 5, []string{"abc", "de"}, "abcde"},
		{"cut in a write", 4, []string{"abc", "de"}, "abcd"},
		{"writes after the limit", 3, []string{"abc", "de", "fgh"}, "abc"},
		{"zero keeps nothing", 0, []string{"abc"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &Buffer{Limit: c.limit}
			for _, w := range c.writes {
				// Never a short write: the child must not see an error
				// or block.
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if b.String() != c.want {
				t.Errorf("kept %q, want %q", b.String(), c.want)
			}
		})
	}
}
