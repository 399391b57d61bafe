package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
	"github.com/verdictrisk/verdict/signals/velocity"
)

func init() {
	register("profile", "show or erase what verdictd keeps of a user: verdict profile show|delete USER",
		profileCmd)
}

const profileUsage = `usage: verdict profile show|delete [flags] USER

  show     print the user's profile (devices, places, browsers, RBA history,
           recent lessons) as JSON
  delete   erase everything kept of the user: profile, lessons, their share
           of the RBA tables, velocity entries under their key, cached
           decisions; prints what was erased

USER is the user key as a decision's signals.user.key shows it (the user id,
else the normalised e-mail, else the login name).

By default the command asks a running verdictd over its API (--url, or
$VERDICT_URL), so the service and its caches stay consistent. With --state
it works on the state folder of a stopped verdictd instead; the folder is
locked while verdictd runs, and the command then says so.

flags:
`

func profileCmd(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 || (args[0] != "show" && args[0] != "delete") {
		io.WriteString(s.err, profileUsage)
		profileFlags(s.err).PrintDefaults()
		return exitUsage
	}
	verb := args[0]
	fs := profileFlags(s.err)
	fs.Usage = func() {
		io.WriteString(s.err, profileUsage)
		fs.PrintDefaults()
	}
	users, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(users) != 1 || users[0] == "" {
		s.errorf("profile %s: give exactly one user key", verb)
		return exitUsage
	}
	o := profileOpts{user: users[0], tenant: fs.Lookup("tenant").Value.String(),
		url: fs.Lookup("url").Value.String(), state: fs.Lookup("state").Value.String(),
		tokenFile: fs.Lookup("token-file").Value.String()}
	var out any
	switch {
	case o.state != "":
		out, err = o.offline(verb)
	default:
		out, err = o.online(ctx, verb)
	}
	if err != nil {
		s.errorf("profile %s: %v", verb, err)
		return exitFail
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err == nil {
		_, err = s.out.Write(append(numberArrays.ReplaceAllFunc(b, oneLine), '\n'))
	}
	if err != nil {
		s.errorf("write: %v", err)
		return exitFail
	}
	return exitOK
}

// numberArrays matches an indented JSON array of numbers, such as the
// 168 hours of the week, which read better on one line.
var numberArrays = regexp.MustCompile(`\[\s*-?[0-9][0-9.e+-]*(?:,\s*-?[0-9][0-9.e+-]*)*\s*\]`)

func oneLine(b []byte) []byte { return spaces.ReplaceAll(b, nil) }

var spaces = regexp.MustCompile(`\s+`)

// parseInterspersed parses flags given before or after the arguments and
// returns the arguments; an argument that starts with "-" goes after "--".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest, args = append(rest, args[0]), args[1:]
	}
}

func profileFlags(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(w)
	def := os.Getenv("VERDICT_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	fs.String("url", def, "address of a running verdictd ($VERDICT_URL overrides the default)")
	fs.String("state", "", "state folder of a stopped verdictd; when set, --url is not used")
	fs.String("tenant", "", "the user's tenant")
	fs.String("token-file", "", "file with verdictd's admin token (default: $VERDICT_ADMIN_TOKEN, "+
		"else "+defaultTokenFile+" when it exists, as make run writes it)")
	return fs
}

type profileOpts struct {
	user, tenant, url, state, tokenFile string
}

// errNoProfile is what show reports for a user without a profile.
var errNoProfile = errors.New("no profile is kept for this user")

// online asks a running verdictd.
func (o profileOpts) online(ctx context.Context, verb string) (any, error) {
	path := "/v1/users/" + url.PathEscape(o.user)
	method := http.MethodDelete
	if verb == "show" {
		path, method = path+"/profile", http.MethodGet
	}
	if o.tenant != "" {
		path += "?tenant=" + url.QueryEscape(o.tenant)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(o.url, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	tok, err := o.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w (is verdictd running? --state works on a stopped one)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var out json.RawMessage = bytes.TrimSpace(body)
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error engine.FieldError }
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("verdictd: %s (%s)", e.Error.Message, e.Error.Code)
		}
		return nil, fmt.Errorf("verdictd answered %s", resp.Status)
	}
	return out, nil
}

// defaultTokenFile is where make run keeps verdictd's admin token.
const defaultTokenFile = "state/admin-token"

func (o profileOpts) token() (string, error) {
	if o.tokenFile == "" {
		if tok := os.Getenv("VERDICT_ADMIN_TOKEN"); tok != "" {
			return tok, nil
		}
		b, err := os.ReadFile(defaultTokenFile)
		if err != nil {
			return "", nil // no token: verdictd answers 401 if it wants one
		}
		return strings.TrimSpace(string(b)), nil
	}
	b, err := os.ReadFile(o.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// offline works on a stopped verdictd's state folder.
func (o profileOpts) offline(verb string) (any, error) {
	st, err := profile.Open(profile.Options{Path: filepath.Join(o.state, "profiles.db")})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%s is in use by a running verdictd; use --url", o.state)
	case err != nil:
		return nil, err
	}
	if verb == "show" {
		defer st.Close()
		p, err := engine.UserProfile(st, o.tenant, o.user)
		if err != nil || p == nil {
			return nil, errors.Join(err, errNoProfile)
		}
		p.Key = strings.TrimPrefix(p.Key, o.tenant+"\x00")
		for i, k := range p.Lessons {
			p.Lessons[i] = strings.TrimPrefix(k, o.tenant+"\x00")
		}
		return map[string]any{"user": o.user, "tenant": o.tenant, "profile": p}, nil
	}
	return o.eraseOffline(st)
}

// eraseOffline erases the user from the profile database (the RBA tables
// included) and from the velocity snapshot.
func (o profileOpts) eraseOffline(st *profile.Store) (any, error) {
	m, err := engine.AttachRBA(st, rba.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	vel := velocity.NewStore(velocity.Options{})
	snap := filepath.Join(o.state, "velocity.snap")
	found, err := vel.RestoreFile(snap)
	if err != nil {
		st.Close()
		return nil, err
	}
	res, err := engine.EraseUser(engine.UserState{Profiles: st, RBA: m, Velocity: vel},
		o.tenant, o.user)
	// Close writes the RBA tables' changes.
	if err = errors.Join(err, st.Close()); err != nil {
		return nil, err
	}
	if found && res.VelocityEntries > 0 {
		if err := vel.SaveFile(snap); err != nil {
			return nil, err
		}
	}
	return res, nil
}
