package sieveext

import (
	"reflect"
	"strings"
	"testing"

	"github.com/foxcpp/go-sieve/interp"
)

func TestVacation(t *testing.T) {
	hdr := header("Subject: hello", "Message-ID: <1@x>")
	for _, tc := range []struct {
		name, script string
		loadErr      string
		runErr       string
		want         Vacation // Handle checked only when set
	}{
		{name: "defaults", script: `require "vacation"; vacation "away";`,
			want: Vacation{Reason: "away", Seconds: 7 * 86400}},
		{name: "days", script: `require "vacation"; vacation :days 3 :subject "s" :from "me@example.com" :addresses ["a@x", "b@x"] :mime :handle "h" "r";`,
			want: Vacation{Reason: "r", Subject: "s", From: "me@example.com", Addresses: []string{"a@x", "b@x"}, Mime: true, Handle: "h", Seconds: 3 * 86400}},
		{name: "seconds", script: `require ["vacation", "vacation-seconds"]; vacation :seconds 60 "r";`,
			want: Vacation{Reason: "r", Seconds: 60}},
		{name: "seconds alone", script: `require "vacation-seconds"; vacation :seconds 0 "r";`,
			want: Vacation{Reason: "r", Seconds: 0}},
		{name: "variables", script: `require ["vacation", "variables"]; set "who" "Bob"; vacation :subject "${who} away" :handle "${who}" "${who} is away";`,
			want: Vacation{Reason: "Bob is away", Subject: "Bob away", Handle: "Bob", Seconds: 7 * 86400}},
		{name: "no require", script: `vacation "r";`, loadErr: "require"},
		{name: "seconds without require", script: `require "vacation"; vacation :seconds 5 "r";`, loadErr: "vacation-seconds"},
		{name: "days and seconds", script: `require ["vacation", "vacation-seconds"]; vacation :days 1 :seconds 5 "r";`, loadErr: "exclusive"},
		{name: "bad from", script: `require "vacation"; vacation :from "not an address" "r";`, loadErr: "from"},
		{name: "missing reason", script: `require "vacation"; vacation :days 1;`, loadErr: "required"},
		{name: "twice", script: `require "vacation"; vacation "a"; vacation "b";`, runErr: "more than once"},
		{name: "after reject", script: `require ["vacation", "reject"]; reject "no"; vacation "a";`, runErr: "reject"},
		{name: "before reject", script: `require ["vacation", "reject"]; vacation "a"; reject "no";`, runErr: "vacation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := compile(tc.script)
			if tc.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
					t.Fatalf("compile error %v, want one containing %q", err, tc.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := &Run{}
			d, err := execute(t, s, r, hdr)
			if tc.runErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.runErr) {
					t.Fatalf("run error %v, want one containing %q", err, tc.runErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Vacations) != 1 {
				t.Fatalf("got %d vacations, want 1", len(r.Vacations))
			}
			got := r.Vacations[0]
			if tc.want.Handle == "" {
				if got.Handle == "" {
					t.Error("no handle derived")
				}
				got.Handle = ""
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			// RFC 5230 §4.7: vacation does not cancel the implicit keep.
			last := d.AppliedActions[len(d.AppliedActions)-1]
			if k, ok := last.(interp.ActionKeep); !ok || !k.Implicit {
				t.Errorf("actions %v: implicit keep missing", d.AppliedActions)
			}
		})
	}
}

// TestVacationHandle checks the derived handle follows the RFC 5230 §4.2
// inputs: same arguments, same handle; a changed reason, a new one.
func TestVacationHandle(t *testing.T) {
	base := Vacation{Reason: "r", Subject: "s", From: "f@x"}
	same := base
	if vacationHandle(base) != vacationHandle(same) {
		t.Error("equal arguments give different handles")
	}
	for _, v := range []Vacation{
		{Reason: "r2", Subject: "s", From: "f@x"},
		{Reason: "r", Subject: "s2", From: "f@x"},
		{Reason: "r", Subject: "s", From: "g@x"},
		{Reason: "r", Subject: "s", From: "f@x", Mime: true},
		{Reason: "rs", Subject: "", From: "f@x"},
	} {
		if vacationHandle(v) == vacationHandle(base) {
			t.Errorf("%+v: same handle as %+v", v, base)
		}
	}
}

func TestNoRun(t *testing.T) {
	s := mustCompile(t, `require "vacation"; vacation "r";`)
	d := interp.NewRuntimeData(s, interp.DummyPolicy{}, interp.EnvelopeStatic{}, interp.MessageStatic{Header: header()})
	if err := s.Execute(t.Context(), d); err == nil {
		t.Error("vacation without a Run in the context succeeded")
	}
}
