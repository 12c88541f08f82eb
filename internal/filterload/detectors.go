package filterload

// Detectors are filter names that are not line filters but detectors of
// their own, which the daemon runs on the jail's logpath instead of a
// failregex: "suricata" reads Suricata's eve.json alerts, "web-attacks"
// scans access logs with the web-attack rules.
func Detectors() []string { return []string{"suricata", "web-attacks"} }

// IsDetector reports whether name is one of Detectors.
func IsDetector(name string) bool {
	for _, d := range Detectors() {
		if d == name {
			return true
		}
	}
	return false
}
