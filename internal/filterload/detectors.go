package filterload

// Detectors are filter names that are not line filters but detectors of
// their own, which the daemon runs on the jail's logpath instead of a
// failregex: "suricata" reads Suricata's eve.json alerts.
func Detectors() []string { return []string{"suricata"} }

// IsDetector reports whether name is one of Detectors.
func IsDetector(name string) bool {
	for _, d := range Detectors() {
		if d == name {
			return true
		}
	}
	return false
}
