package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"letterbox/internal/sys"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		size      int64
		flags     string
	}{
		{"1795338000.M123456P4711R00112233aabbccdd.mx1,S=1234", "1795338000.M123456P4711R00112233aabbccdd.mx1", 1234, ""},
		{"1795307539.M513377P21242.vm,S=121,W=130:2,S", "1795307539.M513377P21242.vm", 121, "S"},   // Dovecot
		{"1795307539.M513377P21242.vm,S=121,W=130:2,Sa", "1795307539.M513377P21242.vm", 121, "Sa"}, // keyword letter
		{"1700000000.123_4.host,U=77:2,FS", "1700000000.123_4.host", -1, "FS"},                     // mbsync
		{"1700000000.123_4.host,U=77:2,SF", "1700000000.123_4.host", -1, "FS"},                     // sorted
		{"1700000000.M1P2.host:2,", "1700000000.M1P2.host", -1, ""},                                // seen nothing
		{"1700000000.M1P2.host!2,RS", "1700000000.M1P2.host", -1, "RS"},                            // '!' separator
		{"1700000000.M1P2.host;2,T", "1700000000.M1P2.host", -1, "T"},                              // ';' separator
		{"1700000000.M1P2.host:1,experimental", "1700000000.M1P2.host", -1, ""},                    // info version 1
		{`1700000000.M1P2.a\057b\072c,S=5:2,S`, `1700000000.M1P2.a\057b\072c`, 5, "S"},             // escaped host
		{"1700000000.M1P2.host,S=x:2,S", "1700000000.M1P2.host", -1, "S"},                          // bad size
	} {
		key, size, flags := ParseName(tc.name)
		if key != tc.key || size != tc.size || flags != tc.flags {
			t.Errorf("ParseName(%q) = %q, %d, %q; want %q, %d, %q", tc.name, key, size, flags, tc.key, tc.size, tc.flags)
		}
	}
}

func TestWalk(t *testing.T) {
	root := maildir(t)
	Make(sys.Real{}, root, false)
	for _, p := range []string{"new/1.M1P1.h,S=3", "cur/2.M2P2.h,S=4:2,RS", "cur/.hidden", "tmp/3.M3P3.h"} {
		os.WriteFile(filepath.Join(root, p), []byte(strings.Repeat("x", 3)), 0o600)
	}
	var got []string
	err := Walk(sys.Real{}, root, func(m Message) error {
		got = append(got, filepath.Base(filepath.Dir(m.Path))+" "+m.Key+" "+m.Flags+" "+itoa(m.Size))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "new 1.M1P1.h  3|cur 2.M2P2.h RS 4" {
		t.Fatalf("got %q", got)
	}
}
