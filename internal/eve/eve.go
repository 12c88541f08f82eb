// Package eve reads Suricata's eve.json: one JSON object per line, of which
// the alerts (event_type "alert") become rampart findings. Flow, http, dns
// and other event types are skipped before they are decoded.
package eve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// Alert is the part of an eve.json alert rampart uses.
type Alert struct {
	Time     time.Time
	Src, Dst netip.Addr
	SrcPort  uint16
	DstPort  uint16
	Proto    string
	// SignatureID, Signature, Category and Severity are Suricata's
	// (severity 1 is the highest, 3 the lowest by default).
	SignatureID int64
	Signature   string
	Category    string
	Severity    int
	// Action is "allowed" or "blocked" (IPS mode).
	Action string
}

type line struct {
	Timestamp string `json:"timestamp"`
	EventType string `json:"event_type"`
	SrcIP     string `json:"src_ip"`
	SrcPort   uint16 `json:"src_port"`
	DestIP    string `json:"dest_ip"`
	DestPort  uint16 `json:"dest_port"`
	Proto     string `json:"proto"`
	Alert     *struct {
		Action      string `json:"action"`
		SignatureID int64  `json:"signature_id"`
		Signature   string `json:"signature"`
		Category    string `json:"category"`
		Severity    int    `json:"severity"`
	} `json:"alert"`
}

// alertMark is in every alert line: lines without it are skipped unparsed.
var alertMark = []byte(`"alert"`)

// Parse reads one eve.json line. ok is false, with no error, for a line
// that is not an alert; a line that is not valid eve JSON is an error.
func Parse(b []byte) (a Alert, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || !bytes.Contains(b, alertMark) {
		return a, false, nil
	}
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return a, false, fmt.Errorf("eve: not a JSON object: %w", err)
	}
	if l.EventType != "alert" {
		return a, false, nil
	}
	if l.Alert == nil {
		return a, false, fmt.Errorf("eve: alert without an \"alert\" object")
	}
	if a.Src, err = netip.ParseAddr(l.SrcIP); err != nil {
		return a, false, fmt.Errorf("eve: src_ip %q: %w", l.SrcIP, err)
	}
	if a.Dst, err = netip.ParseAddr(l.DestIP); err != nil {
		return a, false, fmt.Errorf("eve: dest_ip %q: %w", l.DestIP, err)
	}
	a.Src, a.Dst = a.Src.Unmap().WithZone(""), a.Dst.Unmap().WithZone("")
	if a.Time, err = parseTime(l.Timestamp); err != nil {
		return a, false, err
	}
	a.SrcPort, a.DstPort, a.Proto = l.SrcPort, l.DestPort, l.Proto
	a.SignatureID, a.Signature, a.Category, a.Severity, a.Action = l.Alert.SignatureID, l.Alert.Signature, l.Alert.Category, l.Alert.Severity, l.Alert.Action
	return a, true, nil
}

// parseTime reads Suricata's time stamps: 2026-12-03T16:40:01.123456+0000.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("eve: timestamp %q: want 2006-01-02T15:04:05.999999+0000", s)
}
