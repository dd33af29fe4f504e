package deliver

import "testing"

func TestFolderDir(t *testing.T) {
	for in, want := range map[string]string{
		".Lists.go": ".Lists.go", "Lists/go": ".Lists.go", "Lists.go": ".Lists.go", "lists": ".lists",
		"Ünïcödé":   ".Ünïcödé",
		"../escape": "", "/etc": "", "a/../b": "", "..": "", ".": "", "": "", "a//b": "", "a/": "",
		"./x": "", "a.": "", "x\x00y": "", "x\ny": "", "x\x7f": "", ".a..b": "",
	} {
		got, err := FolderDir(in)
		if want == "" {
			if err == nil {
				t.Errorf("FolderDir(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("FolderDir(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
