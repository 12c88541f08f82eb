package date

import (
	"strings"
	"sync"
)

// zoneTable lists the zone abbreviations Fail2ban accepts, grouped by their
// fixed UTC offset in minutes. Fail2ban treats every abbreviation as a fixed
// offset (CET is always +01:00, CEST always +02:00): there is no DST switch.
const zoneTable = `
-720 Y
-660 X NUT SST
-600 W CKT HAST HST TAHT TKT
-540 V AKST GAMT GIT HADT HNY
-480 U AKDT CIST HAY HNP PST PT
-420 T HAP HNR MST PDT
-360 S CST EAST GALT HAR HNC MDT
-300 R CDT COT EASST ECT EST ET HAC HNE PET
-240 Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT
-180 P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT
-120 O BRST FNT PMDT UYST WGST
-60 N AZOT CVT EGT
0 Z EGST GMT UTC WET WT
60 A CET DFT WAT WEDT WEST
120 B CAT CEDT CEST EET SAST WAST
180 C EAT EEDT EEST IDT MSK
240 D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT
300 E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT
360 F ALMT BIOT BTT IOT KGT NOVT OMST YEKST
420 G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB
480 H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST
540 I AWDT IRKST JST KST PWT TLT WDT WIT YAKT
600 K AEST ChST PGT VLAT YAKST YAPT
660 L AEDT LHDT MAGT NCT PONT SBT VLAST VUT
720 M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT
780 FJST NZDT
690 NFT
630 ACDT LHST
570 ACST
390 CCT MMT
345 NPT
330 SLT
270 AFT IRDT
210 IRST
-150 HAT NDT
-210 HNT NST NT
-270 HLV VET
-570 MART MIT
`

// zoneOffsets is zoneTable as a map from abbreviation to seconds east of
// UTC, built once: dates with a zone name look it up per line.
var zoneOffsets = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for line := range strings.SplitSeq(zoneTable, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, name := range f[1:] {
			if _, dup := m[name]; !dup {
				m[name] = atoiSigned(f[0]) * 60
			}
		}
	}
	return m
})

// zoneAbbrOffset returns the fixed offset in seconds east of UTC of a zone
// abbreviation. The lookup is case-sensitive, like Fail2ban's.
func zoneAbbrOffset(abbr string) (int, bool) {
	if abbr == "" {
		return 0, true
	}
	off, ok := zoneOffsets()[abbr]
	return off, ok
}

func atoiSigned(s string) int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// parseZone converts the text matched by %z, %Z, %Exz or %ExZ to an offset in
// seconds east of UTC. Accepted: "Z", "UTC", "GMT", an abbreviation from
// zoneTable, an offset "+hh", "+hhmm", "+hh:mm", or an abbreviation followed by
// an offset ("CET+0130"), which adds both.
func parseZone(s string) (int, bool) {
	switch s {
	case "Z", "UTC", "GMT":
		return 0, true
	}
	i := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' || i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		i++
	}
	base, ok := zoneAbbrOffset(s[:i])
	if !ok {
		return 0, false
	}
	rest := s[i:]
	if rest == "" {
		return base, true
	}
	off, ok := parseOffset(rest)
	if !ok {
		return 0, false
	}
	return base + off, true
}

// parseOffset reads "+hh", "+hhmm" or "+hh:mm" (the hour's first digit 0 or 1).
func parseOffset(s string) (int, bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, false
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := 0
	switch {
	case len(s) == 3:
	case len(s) == 5 && isDigit(s[3]) && isDigit(s[4]):
		m = int(s[3]-'0')*10 + int(s[4]-'0')
	case len(s) == 6 && s[3] == ':' && isDigit(s[4]) && isDigit(s[5]):
		m = int(s[4]-'0')*10 + int(s[5]-'0')
	default:
		return 0, false
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
