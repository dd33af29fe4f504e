// Package maildir writes and reads Maildirs: unique names, the lockless
// delivery from tmp/ to new/ with every fsync, Maildir++ folders, and flags.
//
// It knows nothing about envelopes or locks; a Maildir needs none.
//
// # What a Maildir is
//
// Is is the one rule, asked by deliver, convert and check alike: an
// existing directory, not a symbolic link, whose new/ and cur/ are
// directories. tmp/ is not required (Deliver and Make create it; check
// notes its absence). A caller that follows a symbolic link on purpose
// (convert resolves the paths the user names) asks Is about the target.
//
// # Maildir++ folder names
//
// A folder is a Folder, its path of names below the root: Folder{"Lists",
// "go"}. It has one directory name, Folder.Dir, and back, ParseDir:
//
//	Folder              directory     mbox file (convert)
//	{} (INBOX)          the root      INBOX
//	{"Lists"}           .Lists        Lists
//	{"Lists", "go"}     .Lists.go     Lists/go
//	{"a.b"}             .a\2eb        a.b
//	{`back\slash`}      .back\5cslash back\slash
//
// '.' separates levels in a directory name, so a '.' inside a name is
// written "\2e", and '\' is written "\5c" (Dovecot's listescape escapes);
// ParseDir(Dir(f)) is f. Reading a name, any '\' followed by two hex
// digits is the escaped byte, and any other '\' stands for itself.
//
// The users' syntaxes are parsed by their commands into a Folder: deliver
// -m (and Sieve's fileinto) by ParseFolder, where '/' and '.' both separate
// levels ("Lists/go", "Lists.go" and ".Lists.go" are {"Lists", "go"}); a
// converted tree's mbox file Lists/go is the path of its directories and
// file, {"Lists", "go"}. Both land in .Lists.go.
//
// Refused, whichever way a name comes (Folder.Check): an empty name, "."
// and "..", a '/' inside a name, NUL and the other control bytes; and in
// ParseFolder's text a leading '/' and "..". A refused name makes no
// directory.
//
// # What the caller owes
//
// MakeFolder makes a folder's tmp/, new/, cur/ and its maildirfolder
// marker, and Make a Maildir's subdirectories, but neither fsyncs a
// directory: a caller that needs a new folder or root to survive a crash
// syncs its parent (sys.SyncDir) itself. Deliver fsyncs the message and
// new/ only. The caller decides whether a missing folder may be created
// (create_folders), holds the privileges of the mailbox's owner, and
// treats an empty folder name as INBOX before calling ParseFolder.
package maildir
