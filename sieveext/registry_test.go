package sieveext

import "testing"

// TestRegistryReached fails when the go:linkname variables do not alias
// interp's tables: the scripts would not compile.
func TestRegistryReached(t *testing.T) {
	for _, ext := range Extensions {
		if _, ok := supportedRequires[ext]; !ok {
			t.Errorf("extension %q not in interp's supportedRequires", ext)
		}
	}
	for _, text := range []string{
		`require "vacation"; vacation "away";`,
		`require ["fileinto", "mailbox"]; fileinto :create "x";`,
		`require "date"; if currentdate "year" "2000" { keep; }`,
		`require "include"; include "x";`,
		`require "duplicate"; if duplicate { keep; }`,
		`require "regex"; if header :regex "subject" "a+" { keep; }`,
		`require "index"; if header :index 1 "subject" "a" { keep; }`,
	} {
		if _, err := compile(text); err != nil {
			t.Errorf("compile %q: %v", text, err)
		}
	}
}
