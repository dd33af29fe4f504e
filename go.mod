module letterbox

go 1.26.8

require (
	github.com/emersion/go-maildir v0.6.0
	github.com/emersion/go-message v0.18.0
	github.com/emersion/go-smtp v0.26.0
	github.com/foxcpp/go-sieve v0.0.0-20260523221512-9ae51b269e52
	github.com/hanwen/go-fuse/v2 v2.12.1
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/emersion/go-textwrapper v0.0.0-20200911093747-65d896831594 // indirect
	golang.org/x/text v0.14.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
	rsc.io/binaryregexp v0.2.0 // indirect
)
