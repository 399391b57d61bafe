package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/network"
	"github.com/verdictrisk/verdict/signals/profile"
)

// config is verdictd's command line.
type config struct {
	listen    string
	rulesDir  string
	dataDir   string
	stateDir  string
	proxies   string
	logLevel  string
	logFormat string
	network   networkFlags
	reload    reloadConfig
	// dedupeWindow is how long an event id gets its first decision back.
	dedupeWindow time.Duration
	kafka        kafkaConfig
	state        stateConfig
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("verdictd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address of the decision API")
	fs.StringVar(&c.rulesDir, "rules", "", "folder of rule files (default: the embedded default pack)")
	fs.StringVar(&c.dataDir, "data", "./data", "folder of reference data (make data fills it)")
	fs.StringVar(&c.stateDir, "state", "./state", "folder where profiles and counters are kept")
	fs.StringVar(&c.proxies, "trusted-proxies", "",
		"comma-separated CIDRs of proxies whose forwarded_for is believed (default: none)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
	c.network.register(fs)
	c.reload.flags(fs)
	fs.DurationVar(&c.dedupeWindow, "dedupe-window", time.Hour,
		"how long a repeated event id gets its first decision back instead of being counted again; "+
			"cover the auth server's retries and a Kafka redelivery after a crash (memory: ~250 B an id)")
	c.kafka.register(fs)
	addStateFlags(fs, &c.state)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.dedupeWindow <= 0 {
		return c, fmt.Errorf("--dedupe-window %s: want a positive duration", c.dedupeWindow)
	}
	return c, nil
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q is not json or text", c.logFormat)
}

// service is a running verdictd.
type service struct {
	log      *slog.Logger
	cfg      config
	stack    *setup.Stack
	registry *prometheus.Registry
	api      *api.Server
	reloads  *reloads
	kafka    *kafkaService
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	svc, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer svc.close()
	return svc.serve(ctx)
}

// start loads everything the service needs; on error nothing stays open.
func start(ctx context.Context, cfg config, log *slog.Logger) (*service, error) {
	s := &service{log: log, cfg: cfg, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	set, shadow, err := s.startRules()
	if err != nil {
		return nil, err
	}
	for _, w := range set.Warnings {
		log.Warn("rule lint", "warning", w.Error())
	}
	if err := cfg.network.check(); err != nil {
		return nil, err
	}
	proxies, err := network.ParseProxies(splitList(cfg.proxies))
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	token, err := cfg.state.adminToken()
	if err != nil {
		return nil, err
	}
	so := s.setupOptions(s.bootRules(set), proxies)
	so.Tune = func(o *engine.Options) { o.DedupeWindow = cfg.dedupeWindow }
	so.Profiles.Horizon = cfg.state.horizon
	// The dedupe memory is rebuilt from the decisions topic as far back as
	// the window: an erasure must be remembered at least that long.
	so.Profiles.ErasureTTL = max(profile.DefaultOptions.ErasureTTL, cfg.dedupeWindow)
	s.stack, err = setup.New(ctx, so)
	if err != nil {
		return nil, err
	}
	if err := s.openKafka(); err != nil {
		s.close()
		return nil, err
	}
	s.api = api.New(s.stack.Engine, api.Options{Registry: s.registry, Logger: log,
		OnDecision: s.onDecision(), AdminToken: token})
	s.api.ServeFeeds(s.stack.Feeds)
	s.attachRules(set, shadow, token)
	log.Info("rules loaded", "version", set.Version, "rules", len(set.Rules),
		"counters", len(set.Counters), "source", rulesSource(s.reloads.live, cfg.rulesDir))
	if missing := s.stack.Feeds.Missing(); len(missing) > 0 {
		log.Warn("reference data missing; these signals will be reported missing in every decision",
			"missing", strings.Join(missing, ","), "data", cfg.dataDir, "fix", "make data")
	}
	return s, nil
}

func loadRules(dir string) (*rules.Set, error) {
	if dir == "" {
		return rules.Default()
	}
	set, err := rules.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load rules:\n%w", err)
	}
	return set, nil
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (s *service) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: s.api.Handler(),
		ReadHeaderTimeout: api.ServerTimeouts.ReadHeader, ReadTimeout: api.ServerTimeouts.Read,
		WriteTimeout: api.ServerTimeouts.Write, IdleTimeout: api.ServerTimeouts.Idle,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer s.watchRules(ctx)()
	stateCtx, stopState := context.WithCancel(ctx)
	waitState := s.keepState(stateCtx)
	defer func() { stopState(); waitState() }()
	s.log.Info("listening", "addr", ln.Addr().String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kafkaDone := s.runKafka(ctx)
	select {
	case err := <-errc:
		cancel()
		s.waitKafka()
		return fmt.Errorf("serve: %w", err)
	case err := <-kafkaDone:
		s.kafka.done = nil
		if err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	s.waitKafka()
	return nil
}

// close saves the counters and closes the stores, and says so: an
// operator reading the log of a stop should see that nothing was lost.
func (s *service) close() {
	s.closeKafka()
	if err := s.stack.Close(); err != nil {
		s.log.Error("shutdown: state not saved cleanly", "err", err)
		return
	}
	s.log.Info("state saved; stopped")
}
