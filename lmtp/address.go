package lmtp

import (
	"fmt"
	"strings"

	"letterbox/internal/status"
)

// Address is a recipient address taken apart.
type Address struct {
	Addr   string // as given in RCPT TO
	Local  string // the whole local part
	User   string // the local part without +extension
	Ext    string // the extension after the first "+", or ""
	Domain string // lower case; "" when the address has none
}

// ParseRecipient takes a RCPT TO address apart and refuses one whose local
// part or domain is not a safe file name component, since both may become
// part of a path: empty, a "/", "..", a control byte, a byte over 0x7f
// (SMTPUTF8 is not offered), or a leading "-" or ".". The error is a
// *status.Error with 5.1.3.
func ParseRecipient(addr string) (Address, error) {
	a := Address{Addr: addr}
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], strings.ToLower(addr[i+1:])
	}
	if err := safeName("local part", local); err != nil {
		return a, err
	}
	if domain != "" || strings.Contains(addr, "@") {
		if err := safeName("domain", domain); err != nil {
			return a, err
		}
	}
	a.Local, a.Domain = local, domain
	a.User, a.Ext, _ = strings.Cut(local, "+")
	if err := safeName("local part", a.User); err != nil {
		return a, err
	}
	return a, nil
}

func safeName(what, s string) error {
	bad := func(why string) error {
		return status.Perm("5.1.3", status.DataErr, fmt.Errorf("%s %q %s", what, s, why))
	}
	switch {
	case s == "":
		return bad("is empty")
	case len(s) > 255:
		return bad("is longer than 255 bytes")
	case s[0] == '-' || s[0] == '.':
		return bad("begins with " + s[:1])
	case strings.Contains(s, "/"):
		return bad("contains /")
	case strings.Contains(s, ".."):
		return bad("contains ..")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return bad(fmt.Sprintf("contains byte %#02x", c))
		}
	}
	return nil
}

// Expand fills the [lmtp] mailbox template for a: {user}, {local},
// {domain}. An address without a domain cannot fill {domain} (5.1.3).
func Expand(template string, a Address) (string, error) {
	if a.Domain == "" && strings.Contains(template, "{domain}") {
		return "", status.Perm("5.1.3", status.DataErr, fmt.Errorf("address %q has no domain for the mailbox template", a.Addr))
	}
	return strings.NewReplacer("{user}", a.User, "{local}", a.Local, "{domain}", a.Domain).Replace(template), nil
}
