// Package harden applies the fixes behind rampart audit's findings as
// recorded change sets that can be undone byte-for-byte (issue 16).
//
// This first step holds only the change-set machinery: atomic writes under a
// root, a JSON record of every file's before/after content and checksum in the
// state directory, and undo that refuses to overwrite files changed since
// unless forced. The areas (ssh, updates, auditd, journald, users, firewall)
// and the CLI are not built yet.
package harden
