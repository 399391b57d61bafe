package main

import (
	"flag"
	"fmt"

	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/network"
)

// networkFlags are the flags of the network signals and their feeds.
type networkFlags struct {
	feeds  string
	v4Bits int
	v6Bits int
}

func (n *networkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.feeds, "feeds", "",
		"feeds configuration (default: DATA/feeds.yaml if present, else the embedded default; see docs/feeds.md)")
	fs.IntVar(&n.v4Bits, "ipv4-prefix", 24, "prefix length ip.network groups IPv4 addresses by")
	fs.IntVar(&n.v6Bits, "ipv6-prefix", 64, "prefix length ip.network groups IPv6 addresses by")
}

func (s *service) setupOptions(set *rules.Set, proxies *network.Proxies) setup.Options {
	return setup.Options{Rules: set, DataDir: s.cfg.dataDir, FeedsFile: s.cfg.network.feeds,
		StateDir: s.cfg.stateDir, Watch: true, Proxies: proxies,
		NetworkV4Bits: s.cfg.network.v4Bits, NetworkV6Bits: s.cfg.network.v6Bits,
		Logger: s.log, Registerer: s.registry}
}

// check refuses prefix lengths that do not fit the address family.
func (n *networkFlags) check() error {
	if n.v4Bits < 1 || n.v4Bits > 32 {
		return fmt.Errorf("--ipv4-prefix %d: want 1 to 32", n.v4Bits)
	}
	if n.v6Bits < 1 || n.v6Bits > 128 {
		return fmt.Errorf("--ipv6-prefix %d: want 1 to 128", n.v6Bits)
	}
	return nil
}
