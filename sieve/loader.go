package sieve

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/foxcpp/go-sieve/interp"

	"letterbox/sieveext"
)

// DirLoader returns the loader include uses when Run is given none: name
// is the file NAME.sieve in o.GlobalDir (:global) or o.PersonalDir
// (:personal), as Pigeonhole's file storage names scripts. A name with a
// "/" or starting with "." is refused (RFC 6609 §3.2 leaves names to the
// implementation; a path would leave the directory). The files are
// loaded with LoadFile, under its safety rules. Each script is compiled
// once per loader.
func DirLoader(o Options) sieveext.Loader {
	cache := map[string]*interp.Script{}
	return func(ctx context.Context, name string, global bool) (*interp.Script, error) {
		dir := o.PersonalDir
		if global {
			dir = o.GlobalDir
		}
		if dir == "" {
			return nil, fmt.Errorf("include %q: no directory configured for these scripts", name)
		}
		if name == "" || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("include %q: bad script name", name)
		}
		path := filepath.Join(dir, name+".sieve")
		if s, ok := cache[path]; ok {
			return s, nil
		}
		s, err := LoadFile(path, o)
		if err != nil {
			return nil, fmt.Errorf("include %q: %w", name, err)
		}
		cache[path] = s.s
		return s.s, nil
	}
}
