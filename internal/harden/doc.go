// Package harden applies the fixes behind rampart audit's findings as
// recorded change sets that can be undone byte-for-byte (issue 16).
//
// An Area (area.go) plans against a root: it runs the audit checks it can
// fix and proposes whole files, links and removals for the failing ones,
// plus validation, activation and reload commands. MakePlan and Execute
// (plan.go) show the proposals as unified diffs and carry them out: staged
// validation, a change set recorded before the first write (changeset.go),
// atomic installs that keep owners, activation and reloads on the live host
// only. Undo restores a change set, refusing files changed since unless
// forced. The areas: updates.go, auditd.go, journald.go, users.go,
// firewall.go, and ssh (ssh*.go). docs/HARDEN.md describes them.
package harden
