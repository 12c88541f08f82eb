package detect

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
)

func TestEveFindings(t *testing.T) {
	now := time.Date(2026, 12, 3, 16, 40, 2, 0, time.UTC)
	alert := func(src, dst string, sev string) []byte {
		return []byte(`{"timestamp":"2026-12-03T16:40:01.000000+0000","event_type":"alert","src_ip":"` + src + `","src_port":4444,"dest_ip":"` + dst + `","dest_port":80,"proto":"TCP","alert":{"action":"allowed","signature_id":9000001,"signature":"test sig","category":"Attempted Administrator Privilege Gain","severity":` + sev + `}}`)
	}
	src := lines{
		{Bytes: alert("198.51.100.9", "192.0.2.1", "1")},
		{Bytes: alert("192.0.2.1", "203.0.113.5", "2")}, // a reply: about its destination
		{Bytes: []byte(`{"timestamp":"2026-12-03T16:40:01.000000+0000","event_type":"flow","src_ip":"198.51.100.9","dest_ip":"192.0.2.1"}`)},
		{Bytes: []byte(`not json but "alert"`)},
	}
	local := netip.MustParseAddr("192.0.2.1")
	bad := 0
	e := &Eve{Lines: src, Name: "/var/log/suricata/eve.json", SingleHit: 1, Local: func(a netip.Addr) bool { return a == local },
		OnBadLine: func(error) { bad++ }, Now: func() time.Time { return now }}
	var got []finding.Finding
	if err := e.Run(context.Background(), func(f finding.Finding) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || bad != 1 {
		t.Fatalf("%d findings and %d bad lines, want 2 and 1: %+v", len(got), bad, got)
	}
	if got[0].Addr.String() != "198.51.100.9" || !got[0].SingleHit || got[0].Severity != finding.High || got[0].Rule != "suricata:9000001" {
		t.Errorf("first finding %+v", got[0])
	}
	if got[1].Addr.String() != "203.0.113.5" || got[1].SingleHit || got[1].Severity != finding.Medium {
		t.Errorf("second finding %+v", got[1])
	}
}

var _ logsource.Source = lines(nil)
