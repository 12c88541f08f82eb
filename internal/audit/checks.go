package audit

// Checks returns every check, in report order: one literal list of the
// per-area constructors, easy to grep.
func Checks() []Check {
	var all []Check
	for _, area := range [][]Check{
		firewallChecks(),
		sshChecks(),
		bruteForceChecks(),
		idsChecks(),
		auditdChecks(),
		updatesChecks(),
		monitoringChecks(),
		usersChecks(),
		backupChecks(),
		docsChecks(),
	} {
		all = append(all, area...)
	}
	return all
}
