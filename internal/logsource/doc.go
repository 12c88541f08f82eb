// Package logsource reads log lines for the jails: files followed by name
// (inotify, with a polling fallback) across rotation,
// truncation, deletion and re-creation, and the systemd journal through
// journalctl.
//
// A Source hands each line to an emit callback without copying: the bytes
// are only valid during the call. Read positions (device, inode, offset and
// a fingerprint of the file's first bytes, or a journal cursor) are saved
// through a PositionStore so that a restart resumes where the last run
// stopped. A position only ever covers lines whose emit call has returned.
package logsource
