package eve

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const alertLine = `{"timestamp":"2026-12-03T16:40:01.123456+0000","flow_id":1234,"in_iface":"veth0","event_type":"alert","src_ip":"198.51.100.9","src_port":40404,"dest_ip":"192.0.2.1","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":9000001,"rev":1,"signature":"rampart test: sqlmap user agent","category":"Web Application Attack","severity":1},"http":{"hostname":"example","url":"/"}}`

func TestParse(t *testing.T) {
	a, ok, err := Parse([]byte(alertLine))
	if err != nil || !ok {
		t.Fatalf("Parse = %v, %v", ok, err)
	}
	want := Alert{Time: time.Date(2026, 12, 3, 16, 40, 1, 123456000, time.UTC), Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: 40404, DstPort: 80, Proto: "TCP", SignatureID: 9000001, Signature: "rampart test: sqlmap user agent", Category: "Web Application Attack", Severity: 1, Action: "allowed"}
	if !a.Time.Equal(want.Time) {
		t.Errorf("time %v, want %v", a.Time, want.Time)
	}
	a.Time = want.Time
	if a != want {
		t.Errorf("Parse = %+v\nwant %+v", a, want)
	}
	for _, skip := range []string{
		`{"timestamp":"2026-12-03T16:40:01.000000+0000","event_type":"flow","src_ip":"198.51.100.9","dest_ip":"192.0.2.1","proto":"TCP"}`,
		`{"timestamp":"2026-12-03T16:40:01.000000+0000","event_type":"http","src_ip":"198.51.100.9","dest_ip":"192.0.2.1","http":{"url":"/alert"}}`,
		``, `   `,
	} {
		if _, ok, err := Parse([]byte(skip)); ok || err != nil {
			t.Errorf("Parse(%.40q) = %v, %v; want skipped", skip, ok, err)
		}
	}
	for _, bad := range []string{
		`{"event_type":"alert",`,
		strings.Replace(alertLine, `"src_ip":"198.51.100.9"`, `"src_ip":"nope"`, 1),
		strings.Replace(alertLine, `"timestamp":"2026-12-03T16:40:01.123456+0000"`, `"timestamp":"yesterday"`, 1),
		`{"event_type":"alert","src_ip":"198.51.100.9","dest_ip":"192.0.2.1"}`,
	} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%.60q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(alertLine))
	f.Add([]byte(`{"event_type":"alert","alert":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok, err := Parse(b)
		if ok && (err != nil || !a.Src.IsValid() || !a.Dst.IsValid()) {
			t.Fatalf("Parse(%q) = %+v, %v, %v", b, a, ok, err)
		}
	})
}

func BenchmarkSkipFlow(b *testing.B) {
	l := []byte(`{"timestamp":"2026-12-03T16:40:01.000000+0000","flow_id":1,"event_type":"flow","src_ip":"198.51.100.9","src_port":1,"dest_ip":"192.0.2.1","dest_port":80,"proto":"TCP","flow":{"pkts_toserver":3,"bytes_toserver":180,"state":"closed"}}`)
	b.ReportAllocs()
	for b.Loop() {
		Parse(l)
	}
}
