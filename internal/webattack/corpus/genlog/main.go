// Command genlog writes rampart's web-attack corpus as an nginx access log
// (for benchmarks and by-hand runs of 'rampart filter test web-attacks'):
//
//	go run ./internal/webattack/corpus/genlog -benign 90000 -attacks 10000 > /tmp/web.log
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

func main() {
	benign := flag.Int("benign", 0, "benign requests (default 30 per client)")
	attacks := flag.Int("attacks", 0, "attack requests (default: each attack of the corpus once; more cycle through it)")
	clients := flag.Int("clients", 200, "benign clients")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	_, err := corpus.Generate(os.Stdout, corpus.Options{Seed: *seed, BenignClients: *clients, BenignLines: *benign, AttackLines: *attacks})
	if err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}
