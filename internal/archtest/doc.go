// Package archtest checks the dependency rules of the architecture guide:
// filter and jail import no other internal package, ban knows the firewall
// interface but no backend, and nothing imports daemon or cli.
package archtest
